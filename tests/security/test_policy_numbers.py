"""PUT /tickets/{id}/policy refuses infinite or huge numbers with 422 naming the key (issue 12, item 5)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.deps import get_temporal
from settings import ROOT, get_settings
from tests.helpers import serve

TEXT = (ROOT / "config" / "policy.toml").read_text(encoding="utf-8")
ADMIN = {"X-API-Key": "dev-admin"}


class NoTemporal:
    """Stands in for the Temporal client: any use of it fails the test."""


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    from api.main import create_app

    try:
        app = create_app()
    finally:
        get_settings.cache_clear()
    # The policy is parsed before the ticket's workflow is asked anything: a 422 here proves the
    # bad number never reaches a workflow, and a valid one gets as far as the (absent) workflow.
    app.dependency_overrides[get_temporal] = NoTemporal
    with serve(app) as url:
        yield url


@pytest.mark.parametrize(("old", "new", "key"), [
    ("resolution_hours = 48", "resolution_hours = inf", "sla.priorities.P3.resolution_hours"),
    ("resolution_hours = 48", "resolution_hours = 1e300", "sla.priorities.P3.resolution_hours"),
    ("voucher_valid_days = 90", "voucher_valid_days = inf", "compensation.voucher_valid_days"),
])
def test_policy_put_refuses_unbounded_numbers(api_url: str, old: str, new: str, key: str) -> None:
    body = {"policy_toml": TEXT.replace(old, new, 1)}
    answer = httpx.put(f"{api_url}/tickets/T-0000000001/policy", json=body, headers=ADMIN, timeout=10)
    assert answer.status_code == 422, answer.text
    problem = answer.json()["detail"][0]
    assert problem["loc"] == ["body", "policy_toml"] and key in problem["msg"]


def test_shipped_policy_passes_the_same_check(api_url: str) -> None:
    # The valid policy gets past parsing and fails only at the stand-in client (500, not 422).
    answer = httpx.put(f"{api_url}/tickets/T-0000000001/policy", json={"policy_toml": TEXT}, headers=ADMIN,
                       timeout=10)
    assert answer.status_code == 500, answer.text
