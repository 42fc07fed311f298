"""Private keys and secrets never appear in a log line or an API response.

Checked against the real stack's log files (API, worker, Temporal) after chain-touching work
(anchoring, certificate signing, verification, voucher redemption) and against every response seen,
errors included; the payload codec is checked in process with keys configured, logs via caplog.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from chain.keys import DEV_PRIVATE_KEYS
from cli.stack import Stack
from settings import Settings
from temporal.codec import new_key
from tests.helpers import eventually, serve_api_with
from tests.security.helpers import key


def _forms(secret: str) -> set[str]:
    """The spellings a leaked secret could take: as configured, hex without 0x, either case."""
    forms = {secret}
    if secret.lower().startswith("0x"):
        forms.add(secret[2:])
    return {f for f in forms if len(f) >= 8}


def _configured_secrets(settings: Settings) -> dict[str, set[str]]:
    secrets = {f"anvil dev key #{i}": _forms(k) for i, k in enumerate(DEV_PRIVATE_KEYS)}
    for name, value in settings:
        if isinstance(value, SecretStr) and value.get_secret_value():
            if name == "api_keys":
                for api_key in settings.api_key_roles():
                    secrets[f"API key {api_key[:4]}…"] = _forms(api_key)
            elif name == "payload_keys":
                for item in value.get_secret_value().split(","):
                    secrets["payload key"] = _forms(item.partition(":")[2].strip())
            else:
                secrets[name] = _forms(value.get_secret_value())
    return secrets


def _leaks(text: str, secrets: dict[str, set[str]]) -> list[str]:
    lowered = text.lower()
    return [name for name, forms in secrets.items() if any(f.lower() in lowered for f in forms)]


def _exercise(api: httpx.Client) -> list[httpx.Response]:
    """Chain-touching paths and error answers of every kind."""
    seen = [api.get("/health"), api.get("/health/live"), api.get("/metrics"), api.get("/openapi.json")]
    ticket_id = f"KEY-{uuid.uuid4().hex[:10]}"
    body = {"ticket_id": ticket_id, "customer_ref": "key-check", "channel": "web", "category": "after_sales",
            "team": "after-sales", "summary": "Secrets check"}
    seen.append(api.post("/tickets", json=body, headers=key("agent")))

    def anchored() -> None:  # the worker anchors with its key; the API signs with the signer key
        response = api.get(f"/tickets/{ticket_id}/certificate", headers=key("auditor"))
        assert response.status_code == 200, response.text
        seen.append(response)
    eventually(anchored, timeout=60, interval=0.5)
    from domain.certificate import certificate_digest

    digest = certificate_digest(seen[-1].json())
    seen += [api.get(f"/verify/{ticket_id}", params={"d": digest}),
             api.get(f"/verify/{ticket_id}", params={"d": digest}, headers={"Accept": "application/json"}),
             api.post("/verify", content=seen[-1].content, headers={"Content-Type": "application/json"}),
             api.post("/vouchers/999999999/redeem", headers=key("merchant")),  # 404 from the redeem path
             api.get("/vouchers", params={"ticket_id": ticket_id}, headers=key("auditor")),
             api.post("/codec/decode", json={"payloads": []}, headers=key("admin")),  # 503: no keys here
             api.get("/tickets", headers={"X-API-Key": "wrong"}),  # 401
             api.post(f"/tickets/{ticket_id}/cancel", json={"reason": "spam"}, headers=key("merchant")),  # 403
             api.get("/tickets/T-not-there", headers=key("agent")),  # 404
             api.post(f"/tickets/{ticket_id}/resolve", json={"resolution_code": "x", "root_cause": "y"},
                      headers=key("agent")),  # 409 (not yet in progress) or 200
             api.post("/tickets", json={"customer_ref": ""}, headers=key("agent")),  # 422
             api.post("/tickets", content=b"{" + b" " * 70_000 + b"}",
                      headers={**key("agent"), "Content-Type": "application/json"}),  # 413
             api.post("/verify", content=b"{not json", headers={"Content-Type": "application/json"})]  # 400
    return seen


def test_no_private_key_in_logs_or_responses(api: httpx.Client, stack: Stack) -> None:
    # The settings the stack's processes run with: this process's environment and the stack's own.
    env = {k[3:].lower(): v for k, v in stack.config.extra_env.items() if k.startswith("QT_")}
    settings = Settings(**env)
    secrets = _configured_secrets(settings)
    responses = _exercise(api)
    assert {r.status_code // 100 for r in responses} >= {2, 4}
    for response in responses:
        text = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        assert not _leaks(text, secrets), (response.request.url, _leaks(text, secrets))

    logs = sorted(stack.logs.glob("*.log"))
    assert {p.name for p in logs} >= {"api.log", "worker.log"}
    for path in logs:
        # Anvil's own start-up banner lists its public development accounts with their keys; that is
        # the third-party node's output, not ours, so only our secrets are searched for there.
        searched = {k: v for k, v in secrets.items() if not k.startswith("anvil dev key")} \
            if path.name == "anvil.log" else secrets
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            assert not _leaks(line, searched), f"{path.name}:{number} leaks {_leaks(line, searched)}"


@pytest.fixture
def codec_app() -> Iterator[tuple[str, str]]:
    """The API in process with payload encryption on; yields its URL and the key."""
    payload_key = new_key()
    with serve_api_with(Settings(payload_keys=SecretStr(f"sec:{payload_key}"))) as url:
        yield url, payload_key


def test_codec_key_stays_out_of_answers_and_logs(codec_app: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    url, payload_key = codec_app
    secrets = {"payload key": {payload_key, base64.b64decode(payload_key).hex()}}
    plain = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
             "data": base64.b64encode(b'{"customer": "x"}').decode()}
    headers = key("quality")
    caplog.set_level(logging.DEBUG)
    with httpx.Client(base_url=url) as client:
        encoded = client.post("/codec/encode", json={"payloads": [plain]}, headers=headers)
        assert encoded.status_code == 200, encoded.text
        sealed = encoded.json()["payloads"][0]
        tampered = {**sealed, "data": base64.b64encode(b"\x00" * 64).decode()}
        unknown_key = {**sealed, "metadata": {**sealed["metadata"],
                                              "encryption-key-id": base64.b64encode(b"other").decode()}}
        answers = [encoded, client.post("/codec/decode", json={"payloads": [sealed]}, headers=headers),
                   client.post("/codec/decode", json={"payloads": [tampered]}, headers=headers),
                   client.post("/codec/decode", json={"payloads": [unknown_key]}, headers=headers),
                   client.post("/codec/decode", json={"payloads": [{"metadata": 5}]}, headers=headers)]
    assert [a.status_code for a in answers[1:]] == [200, 400, 400, 400], [a.text for a in answers]
    for answer in answers:
        assert not _leaks(answer.text, secrets), answer.text
    assert not _leaks(caplog.text, secrets)
