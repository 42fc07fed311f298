"""Forged certificates fail on every path a certificate is verified through, whatever signer they list.

A signature proves who signed only through the key *recovered* from it: the ``signer`` field is
part of the forger's own document. Each forgery here carries the genuine record (so every other
check passes) and a signature that the operator's key did not make over this certificate's
EIP-712 message; some list the operator as their signer. The paths: the offline function, the
full verification against the chain, the auditor's tool (file and QR photo) and the public
upload page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import segno
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from api.routes import verify as verify_routes
from certificates.issue import build_certificate, signer_for, write_certificate
from certificates.verify import verify_certificate
from chain.rpc import connect
from domain.certificate import certificate_body, certificate_digest, typed_data
from domain.certificate_checks import CheckStatus, overall_verdict, verify_certificate_offline
from domain.policy import load_policy
from readmodel.db import get_engine
from settings import get_settings
from tests.certificates.conftest import AuditRunner
from tests.certificates.world import OTHER_KEY, SIGNER, SIGNER_KEY, World
from tests.helpers import serve

FORGER = Account.from_key(OTHER_KEY).address
THIRD = Account.from_key("0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e").address  # Anvil 6


def _genuine(world: World) -> dict[str, Any]:
    with Session(get_engine(world.db_url)) as session:
        return build_certificate(session=session, ticket_id=world.ticket, signer=signer_for(world.settings()))


def _typed_message(cert: dict[str, Any], digest: str) -> Any:
    return encode_typed_data(full_message=typed_data(str(cert["ticket_id"]), digest, int(cert["chain_id"]),
                                                     str(cert["registry"])))


def _signed(body: dict[str, Any], listed_signer: str, key: str, *, eip712: bool = True) -> dict[str, Any]:
    """The body listing ``listed_signer``, its digest, and ``key``'s signature over that digest."""
    cert = {**certificate_body(body), "signer": listed_signer}
    digest = certificate_digest(cert)
    message = _typed_message(cert, digest) if eip712 else encode_defunct(hexstr=digest)
    signature = Account.sign_message(message, private_key=key).signature
    return {**cert, "digest": digest, "signature": "0x" + bytes(signature).hex()}


def _operator_signature_on_another_body(genuine: dict[str, Any]) -> dict[str, Any]:
    # The operator's genuine signature copied onto a body that says something else (a later "as of").
    body = {**certificate_body(genuine), "as_of": genuine["as_of"].replace("2026", "2027")}
    return {**body, "digest": certificate_digest(body), "signature": genuine["signature"]}


# Each builds a forgery from the genuine certificate. Those listing the operator are the dangerous
# ones: a verifier comparing the listed signer with the trusted key lets them through.
FORGERIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "another key, listing the operator": lambda g: _signed(g, SIGNER, OTHER_KEY),
    "another key, listing the operator in lower case": lambda g: _signed(g, SIGNER.lower(), OTHER_KEY),
    "another key, listing itself": lambda g: _signed(g, FORGER, OTHER_KEY),
    "another key, listing a third address": lambda g: _signed(g, THIRD, OTHER_KEY),
    "the operator's signature copied onto another body": _operator_signature_on_another_body,
    "the operator's key, but not over the EIP-712 message": lambda g: _signed(g, SIGNER, SIGNER_KEY, eip712=False),
}
# Forgeries whose listed signer is not the key that signed: caught even with no trusted address.
INCONSISTENT = [name for name in FORGERIES if name != "another key, listing itself"]


@pytest.fixture(scope="module")
def genuine(world: World) -> dict[str, Any]:
    return _genuine(world)


def _assert_only_signature_fails(checks: list[Any]) -> None:
    statuses = {c.name: c.status for c in checks}
    assert statuses["signature"] == CheckStatus.FAIL, checks
    assert not overall_verdict(checks).ok
    # The record itself is genuine: nothing else gives the forgery away.
    assert all(s in (CheckStatus.PASS, CheckStatus.SKIP) for n, s in statuses.items() if n != "signature"), checks


def test_the_genuine_certificate_passes_every_path(world: World, genuine: dict[str, Any], tmp_path: Path,
                                                   run_audit: AuditRunner, upload: httpx.Client) -> None:
    """The control: the same paths accept the operator's own certificate (so a failure below is the signature)."""
    assert all(c.status == CheckStatus.PASS for c in verify_certificate_offline(genuine, trusted_signer=SIGNER))
    checks = verify_certificate(genuine, w3=connect(world.rpc_url), trusted_signer=SIGNER)
    assert overall_verdict(checks).ok and all(c.status == CheckStatus.PASS for c in checks), checks
    path = tmp_path / "genuine.json"
    write_certificate(path, genuine)
    result = run_audit("verify", str(path), "--rpc", world.rpc_url, "--signer", SIGNER)
    assert result.returncode == 0 and "PASS  Signed by the operator" in result.stdout, result.stdout + result.stderr
    page = upload.post("/verify", content=json.dumps(genuine), headers={"Content-Type": "application/json"})
    assert page.status_code == 200 and 'data-verdict="verified"' in page.text


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forgery_fails_offline_and_on_chain(world: World, genuine: dict[str, Any], forgery: str) -> None:
    cert = FORGERIES[forgery](genuine)
    assert Account.recover_message(_typed_message(cert, cert["digest"]), signature=cert["signature"]) != SIGNER
    _assert_only_signature_fails(verify_certificate_offline(cert, trusted_signer=SIGNER))
    _assert_only_signature_fails(verify_certificate_offline(cert, trusted_signer=SIGNER.lower()))
    _assert_only_signature_fails(verify_certificate(cert, w3=connect(world.rpc_url), trusted_signer=SIGNER))
    if forgery in INCONSISTENT:
        # With no trusted address, a signature that is not the listed signer's still fails.
        _assert_only_signature_fails(verify_certificate_offline(cert))
    else:
        # A self-consistent forgery can only be flagged without a trusted address, never passed clean.
        signature = next(c for c in verify_certificate_offline(cert) if c.name == "signature")
        assert signature.status == CheckStatus.WARN


@pytest.mark.parametrize("forgery", FORGERIES)
def test_auditor_tool_rejects_the_forged_file(world: World, genuine: dict[str, Any], forgery: str, tmp_path: Path,
                                              run_audit: AuditRunner) -> None:
    path = tmp_path / "forged.json"
    write_certificate(path, FORGERIES[forgery](genuine))
    result = run_audit("verify", str(path), "--rpc", world.rpc_url, "--signer", SIGNER, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {c["name"]: c["status"] for c in report["checks"]}["signature"] == "fail"


@pytest.fixture(scope="module")
def upload(world: World) -> Iterator[httpx.Client]:
    """The public verification routes with the world's settings (the operator key is the one trusted)."""
    app = FastAPI()
    app.include_router(verify_routes.router)
    settings = world.settings()
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.policy = load_policy(settings.policy_file)  # the real app's lifespan loads it
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.mark.parametrize("forgery", FORGERIES)
def test_upload_page_rejects_the_forgery(genuine: dict[str, Any], forgery: str, upload: httpx.Client) -> None:
    raw = json.dumps(FORGERIES[forgery](genuine))
    as_json = upload.post("/verify", content=raw, headers={"Content-Type": "application/json"})
    as_form = upload.post("/verify", files={"certificate": ("certificate.json", raw, "application/json")})
    for page in (as_json, as_form):
        assert page.status_code == 200
        assert 'data-verdict="failed"' in page.text
        assert 'data-check="signature" data-status="fail"' in page.text
        assert 'data-check="digest" data-status="pass"' in page.text


@pytest.fixture(scope="module")
def forged_server() -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    """A server of the forger's own, answering QR URLs with whatever certificate it was given."""
    served: dict[str, dict[str, Any]] = {}
    app = FastAPI()

    @app.get("/verify/{ticket_id}")
    def certificate(ticket_id: str, d: str) -> Response:
        if d == DEEP_DIGEST:  # nested far past any certificate: must not crash the auditor's tool
            return Response(b"[" * 200_000 + b"]" * 200_000, media_type="application/json")
        return JSONResponse(served[d])

    with serve(app) as url:
        yield url, served


DEEP_DIGEST = "0x" + "dd" * 32


def test_auditor_tool_fails_a_deeply_nested_answer_without_crashing(
        world: World, forged_server: tuple[str, dict[str, dict[str, Any]]], tmp_path: Path,
        run_audit: AuditRunner) -> None:
    url, _ = forged_server
    png = tmp_path / "deep.png"
    segno.make(f"{url}/verify/T-DEEP?d={DEEP_DIGEST}", error="m").save(str(png), scale=6)
    result = run_audit("verify", str(png), "--rpc", world.rpc_url, "--signer", SIGNER)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # a failed verification (not a crash, not a usage error)
    assert "FAIL  Readable certificate" in out and "nested deeper" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("forgery", ["another key, listing the operator",
                                     "the operator's signature copied onto another body"])
def test_auditor_tool_rejects_a_forgery_behind_a_qr_code(world: World, genuine: dict[str, Any], forgery: str,
                                                         forged_server: tuple[str, dict[str, dict[str, Any]]],
                                                         tmp_path: Path, run_audit: AuditRunner) -> None:
    url, served = forged_server
    cert = FORGERIES[forgery](genuine)
    served[cert["digest"]] = cert
    png = tmp_path / "qr.png"
    segno.make(f"{url}/verify/{cert['ticket_id']}?d={cert['digest']}", error="m").save(str(png), scale=6)
    result = run_audit("verify", str(png), "--rpc", world.rpc_url, "--signer", SIGNER)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "PASS  Matches the QR code" in out  # the QR code and the forged file agree ...
    assert "FAIL  Signed by the operator" in out  # ... but the operator never signed it
    assert "NOT VERIFIED" in out
