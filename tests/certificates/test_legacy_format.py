"""Evidence from before batch format 2 keeps verifying: format 1 batches on the contracts of that release.

The contracts are deployed from the artifacts published then (``contracts/artifacts/legacy/v1``),
batches are anchored with raw milestone leaves, and a voucher is issued the way it was. The
certificate this code builds from that record is still a version 1 certificate, with the bytes it
had then (no format key anywhere), and passes every check against the chain.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlmodel import Session, select
from web3 import Web3

from certificates.issue import CertificateSigner, build_certificate
from certificates.verify import verify_certificate
from chain.keys import DEV_PRIVATE_KEYS
from chain.registry import EvidenceRegistryClient
from chain.voucher import VoucherClient
from contracts.anvil import AnvilProcess
from domain.certificate import CERTIFICATE_FORMAT_V1
from domain.certificate_checks import CheckStatus
from domain.evidence_types import claim_hash, customer_ref_bytes
from domain.milestones import BATCH_FORMAT_V1
from domain.milestones import MilestoneKind as K
from readmodel.db import init_db
from readmodel.models import Milestone, Ticket, Voucher
from tests.certificates.world import SIGNER, SIGNER_KEY, _anchor_pending, _Chains, deploy_legacy

TICKET = "T-LEGACY-0001"
V1_BATCH_KEYS = {"batch_no", "batch_id", "root", "leaf_count", "tx_hash", "block_number", "block_hash"}


@pytest.fixture(scope="module")
def legacy_cert(cert_anvil: AnvilProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    w3 = Web3(Web3.HTTPProvider(cert_anvil.url))
    admin = Account.from_key(DEV_PRIVATE_KEYS[0]).address
    registry_address = deploy_legacy(w3, "EvidenceRegistry", admin)
    voucher_address = deploy_legacy(w3, "CompensationVoucher", registry_address, admin)
    registry = EvidenceRegistryClient(w3, registry_address, Account.from_key(DEV_PRIVATE_KEYS[1]))
    vouchers = VoucherClient(w3, voucher_address, Account.from_key(DEV_PRIVATE_KEYS[2]))
    tmp: Path = tmp_path_factory.mktemp("legacy")
    engine = init_db(f"sqlite:///{tmp / 'readmodel.db'}")
    chains = _Chains()
    ref_hash = "0x" + "ab" * 32
    with Session(engine) as session:
        session.add(Ticket(id=TICKET, status="open", priority="P2", category="after_sales", team="after-sales",
                           channel="app", customer_ref_hash=ref_hash, summary="s", description="d",
                           created_at=chains.at, updated_at=chains.at))
        session.commit()
        chains.add(session, TICKET, K.OPENED, {"channel": "app", "category": "after_sales", "priority": "P2",
                                               "team": "after-sales", "customer_ref_hash": ref_hash, "supplier": ""})
        breach = chains.add(session, TICKET, K.SLA_BREACH, {"clock": "first_response", "target_seconds": "1800"})
        chains.add(session, "T-LEGACY-OTHER", K.OPENED, {"channel": "app"})
        batch = _anchor_pending(session, registry, 1, BATCH_FORMAT_V1)
        # Issued the way it was then: the raw breach leaf, its proof in the raw-leaf tree.
        row = session.exec(select(Milestone).where(Milestone.leaf == breach.leaf)).one()
        proof = [bytes.fromhex(p[2:]) for p in json.loads(row.proof or "[]")]
        claim_id = f"{TICKET}:first_response"
        expires = int(w3.eth.get_block("latest")["timestamp"]) + 90 * 86400
        issued = vouchers.issue(claim_hash(claim_id), customer_ref_bytes(ref_hash), 2000, expires,
                                bytes.fromhex(breach.leaf[2:]), proof, bytes.fromhex(batch.root[2:]))
        session.add(Voucher(claim_id=claim_id, ticket_id=TICKET, breach="first_response",
                            voucher_id=issued.voucher_id, amount=2000, currency="CNY", tx_hash=issued.tx_hash,
                            block_number=issued.block_number, breach_leaf=breach.leaf, root=batch.root,
                            issued_at=datetime.now(UTC)))
        session.commit()
        chains.add(session, TICKET, K.VOUCHER_ISSUED,
                   {"breach": "first_response", "voucher_id": str(issued.voucher_id), "amount": "2000",
                    "tx_hash": issued.tx_hash, "breach_leaf": breach.leaf})
        _anchor_pending(session, registry, 2, BATCH_FORMAT_V1)
        signer = CertificateSigner(31337, registry_address, voucher_address, SIGNER_KEY)
        return build_certificate(session=session, ticket_id=TICKET, signer=signer) | {"_rpc": cert_anvil.url}


def test_format_1_record_still_gives_a_version_1_certificate(legacy_cert: dict[str, Any]) -> None:
    cert = {k: v for k, v in legacy_cert.items() if k != "_rpc"}
    assert cert["format"] == CERTIFICATE_FORMAT_V1
    assert all(set(b) == V1_BATCH_KEYS for b in cert["batches"])
    assert [m["kind"] for m in cert["milestones"]] == ["opened", "sla_breach", "voucher_issued"]


def test_format_1_certificate_and_voucher_verify_on_the_old_contracts(legacy_cert: dict[str, Any]) -> None:
    cert = {k: v for k, v in legacy_cert.items() if k != "_rpc"}
    checks = verify_certificate(cert, w3=Web3(Web3.HTTPProvider(legacy_cert["_rpc"])), trusted_signer=SIGNER)
    assert all(c.status == CheckStatus.PASS for c in checks), [c for c in checks if c.status != "pass"]
    contracts = next(c for c in checks if c.name == "contracts")
    assert "before batch format 2" in contracts.summary
    voucher = next(c for c in checks if c.name == "voucher")
    assert "1 voucher issued on chain" in voucher.summary
