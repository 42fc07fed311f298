"""Certificates built from a real read model and checked against a real Anvil (in process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlmodel import Session

from certificates.issue import (
    NotCertifiable,
    build_certificate,
    find_certificate,
    is_safe_data,
    pending_count,
    signer_for,
)
from certificates.verify import verify_certificate
from chain.rpc import connect
from domain.certificate import certificate_digest, parse_certificate, sign_certificate, typed_data
from domain.certificate_checks import Check, CheckStatus, overall_verdict, verify_certificate_offline
from readmodel.db import get_engine
from readmodel.evidence import token_version
from tests.certificates.world import CUSTOMER_REF, DESCRIPTION, OTHER_KEY, SIGNER, World, anchor_pending, copy_world


def _cert(world: World, ticket_id: str | None = None) -> dict[str, Any]:
    settings = world.settings()
    with Session(get_engine(world.db_url)) as session:
        return build_certificate(session=session, ticket_id=ticket_id or world.ticket,
                                 signer=signer_for(settings))


def _statuses(checks: list[Check]) -> dict[str, CheckStatus]:
    return {c.name: c.status for c in checks}


def test_certificate_verifies_offline_and_on_chain(world: World) -> None:
    cert = _cert(world)
    assert cert["signer"] == SIGNER
    assert cert["chain_id"] == 31337 and cert["registry"] == world.deployment.registry
    kinds = [m["kind"] for m in cert["milestones"]]
    # The confirmation is recorded but not anchored: the certificate stops before it.
    assert kinds == ["opened", "sla_warning", "sla_breach", "voucher_issued", "first_response", "resolved"]
    assert [b["batch_no"] for b in cert["batches"]] == [1, 2]
    assert [v["voucher_id"] for v in cert["vouchers"]] == [1]

    offline = verify_certificate_offline(cert, trusted_signer=SIGNER)
    assert all(c.status == CheckStatus.PASS for c in offline), offline
    checks = verify_certificate(cert, w3=connect(world.rpc_url), trusted_signer=SIGNER)
    assert all(c.status == CheckStatus.PASS for c in checks), [c for c in checks if c.status != "pass"]
    assert overall_verdict(checks).ok
    names = [c.name for c in checks]
    assert names == ["digest", "signature", "hash_chain", "inclusion", "network", "contracts", "root_on_chain",
                     "voucher"]
    voucher = next(c for c in checks if c.name == "voucher")
    assert any("not yet redeemed" in line for line in voucher.details)


def test_certificate_carries_no_personal_data(world: World) -> None:
    text = json.dumps(_cert(world))
    for secret in (CUSTOMER_REF, DESCRIPTION, "Jane", "Leaking washing machine"):
        assert secret not in text


def test_free_text_is_withheld_but_the_chain_still_checks(world: World) -> None:
    cert = _cert(world, world.free_text)
    paused = cert["milestones"][1]
    assert paused["kind"] == "paused" and paused["withheld"] is True and "data" not in paused
    assert "holiday" not in json.dumps(cert)
    checks = verify_certificate(cert, w3=connect(world.rpc_url), trusted_signer=SIGNER)
    assert _statuses(checks)["hash_chain"] == CheckStatus.WARN
    assert overall_verdict(checks).ok


def test_data_screen() -> None:
    assert is_safe_data({"clock": "first_response", "actor": "agent#0", "customer_ref_hash": "0x" + "ab" * 32})
    assert not is_safe_data({"reason": "customer on holiday"})
    assert not is_safe_data({"customer_ref": "4711"})
    assert not is_safe_data({"contact": "jane@example.com"})


def test_certificate_is_deterministic_and_findable_by_digest(world: World, tmp_path: Path) -> None:
    mine = copy_world(world, tmp_path)
    first = _cert(mine)
    assert _cert(mine) == first
    settings = mine.settings()
    with Session(get_engine(mine.db_url)) as session:
        assert pending_count(session=session, ticket_id=mine.ticket) == 1
    anchor_pending(mine)  # the confirmation gets anchored: a newer, longer certificate
    newer = _cert(mine)
    assert len(newer["milestones"]) == len(first["milestones"]) + 1
    assert newer["digest"] != first["digest"]
    with Session(get_engine(mine.db_url)) as session:
        found = find_certificate(session=session, ticket_id=mine.ticket, signer=signer_for(settings),
                                 digest=str(first["digest"]))
        assert found is not None and found[0] == first and found[1] == 1
        assert find_certificate(session=session, ticket_id=mine.ticket, signer=signer_for(settings),
                                digest="0x" + "00" * 32) is None
        with pytest.raises(NotCertifiable):
            build_certificate(session=session, ticket_id="T-NOPE", signer=signer_for(settings))


def test_signature_is_eip712_over_digest_ticket_chain_and_registry(world: World) -> None:
    cert = _cert(world)
    message = encode_typed_data(full_message=typed_data(
        str(cert["ticket_id"]), str(cert["digest"]), 31337, world.deployment.registry))
    assert Account.recover_message(message, signature=str(cert["signature"])) == SIGNER
    # The same signature does not hold for another chain or registry (EIP-712 domain).
    other = encode_typed_data(full_message=typed_data(str(cert["ticket_id"]), str(cert["digest"]), 1,
                                                      world.deployment.registry))
    assert Account.recover_message(other, signature=str(cert["signature"])) != SIGNER
    assert certificate_digest(cert) == cert["digest"]
    assert parse_certificate(json.dumps(cert, indent=4)) == cert


def test_offline_checks_name_what_failed(world: World) -> None:
    cert = _cert(world)
    edited = json.loads(json.dumps(cert))
    edited["milestones"][2]["at"] = edited["milestones"][2]["at"].replace("T0", "T1")
    statuses = _statuses(verify_certificate_offline(edited, trusted_signer=SIGNER))
    assert statuses["digest"] == CheckStatus.FAIL and statuses["hash_chain"] == CheckStatus.FAIL
    assert statuses["signature"] == CheckStatus.PASS  # the key did sign the digest it carries

    forged = sign_certificate(cert, OTHER_KEY)
    statuses = _statuses(verify_certificate_offline(forged, trusted_signer=SIGNER))
    assert statuses["signature"] == CheckStatus.FAIL and statuses["digest"] == CheckStatus.PASS
    # Without a trusted address a consistent forgery can only be flagged, not caught.
    assert _statuses(verify_certificate_offline(forged))["signature"] == CheckStatus.WARN

    qr = _statuses(verify_certificate_offline(cert, expected_digest="0x" + "11" * 32))
    assert qr["qr"] == CheckStatus.FAIL
    broken = verify_certificate_offline({"format": "nope"})
    assert [c.name for c in broken] == ["format"] and broken[0].status == CheckStatus.FAIL


def test_token_version_follows_revocations(world: World) -> None:
    with Session(get_engine(world.db_url)) as session:
        assert token_version(session=session, ticket_id=world.ticket) == 1
