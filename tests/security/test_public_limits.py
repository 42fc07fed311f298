"""Public requests are bounded (issue 12, item 3): rate limits per client address, list caps on
uploads, and an upload that fails an offline check costs no chain calls."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from certificates.verify import verify_certificate
from domain.certificate import CertificateTooLarge, parse_certificate
from domain.certificate_checks import CheckStatus
from settings import Settings, get_settings
from tests.helpers import serve_api_with
from tests.security.test_lone_surrogate import _shaped_certificate


def test_public_routes_answer_429_with_retry_after_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    # The limiter is built with the app, from the environment's settings.
    monkeypatch.setenv("QT_PUBLIC_RATE_LIMIT", "3/minute")
    get_settings.cache_clear()
    with serve_api_with(Settings()) as url:
        answers = [httpx.get(f"{url}/verify", timeout=10) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert 1 <= int(limited.headers["Retry-After"]) <= 60 and "too many requests" in limited.json()["detail"]
        # The same address is limited on every public route, and only there.
        assert httpx.get(f"{url}/verify/T-limited", timeout=10).status_code == 429
        assert httpx.get(f"{url}/tickets/T-limited/certificate", timeout=10).status_code == 429
        assert httpx.get(f"{url}/health/live", timeout=10).status_code == 200
        assert httpx.get(f"{url}/tickets", timeout=10).status_code == 401


def test_malformed_limit_stops_the_start() -> None:
    from api.main import create_app

    get_settings.cache_clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QT_PUBLIC_RATE_LIMIT", "lots")
        try:
            with pytest.raises(ValueError):
                create_app().build_middleware_stack()
        finally:
            get_settings.cache_clear()


@pytest.mark.parametrize("field", ["milestones", "batches", "vouchers"])
def test_certificate_lists_are_capped_naming_the_field(field: str) -> None:
    cert = _shaped_certificate("opened")
    cert[field] = [cert["milestones"][0]] * 5
    raw = json.dumps(cert).encode()
    with pytest.raises(CertificateTooLarge) as err:
        parse_certificate(raw, {"milestones": 4, "batches": 4, "vouchers": 4})
    assert err.value.field == field


def test_upload_over_a_cap_answers_422_naming_the_list() -> None:
    cert = _shaped_certificate("opened")
    cert["vouchers"] = [{"voucher_id": i} for i in range(3300)]  # the 975 KiB upload of the issue
    with serve_api_with(Settings(certificate_max_vouchers=16)) as url:
        answer = httpx.post(f"{url}/verify", content=json.dumps(cert).encode(), timeout=30,
                            headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "vouchers: at most 16" in answer.text


class CountingProvider:
    """A Web3 stand-in that records every call: an upload failing offline must make none."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        raise AssertionError(f"the chain was asked for {name}")


def test_verification_stops_at_the_first_failed_offline_check() -> None:
    cert = _shaped_certificate("opened")  # well shaped, but its digest and signature are made up
    w3 = CountingProvider()
    checks = verify_certificate(cert, w3=w3, stop_at_failure=True)  # type: ignore[arg-type]
    assert w3.calls == []
    assert [(c.name, c.status) for c in checks] == [("digest", CheckStatus.FAIL),
                                                    ("root_on_chain", CheckStatus.SKIP)]


def test_upload_page_shows_the_chain_check_not_run() -> None:
    raw = json.dumps(_shaped_certificate("opened")).encode()
    with serve_api_with(Settings(rpc_url="http://127.0.0.1:9")) as url:  # nothing listens: any call fails
        answer = httpx.post(f"{url}/verify", content=raw, timeout=30, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200
    assert 'data-check="digest" data-status="fail"' in answer.text
    assert 'data-check="root_on_chain" data-status="skip"' in answer.text
    assert 'data-check="signature"' not in answer.text
