"""A voucher in a certificate must rest on an SLA-breach milestone: every other kind is refused.

The contracts released before batch format 2, which still hold vouchers, only check that the
evidence leaf is anchored; they cannot tell a breach from an ``opened`` leaf. So the verifier must
(the current contract refuses such a voucher itself: tests/contracts/test_voucher_evidence.py). Here
one ticket's chain holds a milestone of every kind, all anchored in one batch on freshly deployed
contracts of that release, and a voucher is really issued on chain against each of them: everything
the chain can confirm about these vouchers is true, and only the kind of the milestone they rest on
differs. The certificates are signed with the operator's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from certificates.issue import write_certificate
from certificates.verify import verify_certificate
from chain.deployment import Deployment
from chain.keys import DEV_PRIVATE_KEYS
from chain.registry import EvidenceRegistryClient
from chain.rpc import connect
from chain.voucher import VoucherClient
from contracts.anvil import AnvilProcess
from domain.certificate import CERTIFICATE_FORMAT, sign_certificate
from domain.certificate_checks import CheckStatus, overall_verdict
from domain.evidence_types import batch_id_for, claim_hash, customer_ref_bytes
from domain.merkle import build_tree
from domain.milestones import Milestone, MilestoneKind, format_time, new_milestone
from tests.certificates.conftest import AuditRunner, deploy_legacy
from tests.certificates.world import SIGNER, SIGNER_KEY

TICKET = "T-KINDS-0001"
ALL_KINDS = sorted(v for k, v in vars(MilestoneKind).items() if k.isupper() and isinstance(v, str))
NOT_BREACHES = [k for k in ALL_KINDS if k != MilestoneKind.SLA_BREACH]
BATCH_NO = 1


@dataclass
class Evidence:
    rpc_url: str
    deployment: Deployment
    milestones: list[Milestone]
    proofs: dict[str, list[str]]  # leaf -> proof
    batch: dict[str, Any]
    vouchers: dict[str, dict[str, Any]]  # milestone kind -> the voucher entry issued on its leaf


@pytest.fixture(scope="module")
def evidence(cert_anvil: AnvilProcess, tmp_path_factory: pytest.TempPathFactory) -> Evidence:
    w3 = Web3(Web3.HTTPProvider(cert_anvil.url))
    deployer, anchorer, issuer, _ = (Account.from_key(k) for k in DEV_PRIVATE_KEYS)
    # Contracts of their own, so this batch numbering does not meet the shared world's.
    registry_address = deploy_legacy(w3, "EvidenceRegistry", deployer.address)
    voucher_address = deploy_legacy(w3, "CompensationVoucher", registry_address, deployer.address)
    deployment = Deployment(31337, registry_address, voucher_address, "", 0)
    at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    chain: list[Milestone] = []
    # "opened" first, as every chain starts; then one of each other kind.
    for i, kind in enumerate([MilestoneKind.OPENED, *[k for k in ALL_KINDS if k != MilestoneKind.OPENED]]):
        breach = kind == MilestoneKind.SLA_BREACH
        data = {"clock": "resolution", "target_seconds": "172800"} if breach else {"n": str(i)}
        chain.append(new_milestone(TICKET, chain[-1] if chain else None, kind, at + timedelta(minutes=i), data))
    tree = build_tree([bytes.fromhex(m.leaf[2:]) for m in chain])
    proofs = {m.leaf: ["0x" + p.hex() for p in tree.proof(i)] for i, m in enumerate(chain)}
    receipt = EvidenceRegistryClient(w3, deployment.registry, anchorer).anchor(tree.root, len(chain),
                                                                              batch_id_for(BATCH_NO))
    batch = {"batch_no": BATCH_NO, "batch_id": "0x" + batch_id_for(BATCH_NO).hex(), "root": "0x" + tree.root.hex(),
             "leaf_count": len(chain), "tx_hash": receipt.tx_hash, "block_number": receipt.block_number,
             "block_hash": receipt.block_hash}
    vouchers_client = VoucherClient(w3, deployment.voucher, issuer)
    expires = int(w3.eth.get_block("latest")["timestamp"]) + 90 * 24 * 3600
    vouchers: dict[str, dict[str, Any]] = {}
    for m in chain:
        claim_id = f"{TICKET}:{m.kind}"
        issued = vouchers_client.issue(claim_hash(claim_id), customer_ref_bytes("0x" + "ab" * 32), 500, expires,
                                       bytes.fromhex(m.leaf[2:]), [bytes.fromhex(p[2:]) for p in proofs[m.leaf]],
                                       tree.root)
        vouchers[m.kind] = {"voucher_id": issued.voucher_id, "breach": m.data.get("clock", m.kind),
                            "claim_id": claim_id, "amount": 500, "currency": "CNY", "tx_hash": issued.tx_hash,
                            "block_number": issued.block_number, "breach_leaf": m.leaf}
    return Evidence(cert_anvil.url, deployment, chain, proofs, batch, vouchers)


def _certificate(evidence: Evidence, *voucher_kinds: str) -> dict[str, Any]:
    """The operator's signed certificate of the whole chain, listing the vouchers on those kinds' leaves."""
    body = {
        "format": CERTIFICATE_FORMAT, "ticket_id": TICKET, "as_of": format_time(evidence.milestones[-1].at),
        "chain_id": 31337, "registry": evidence.deployment.registry,
        "voucher_contract": evidence.deployment.voucher, "signer": SIGNER,
        "milestones": [{"seq": m.seq, "kind": m.kind, "at": format_time(m.at), "prev": m.prev, "leaf": m.leaf,
                        "data": m.data, "batch_no": BATCH_NO, "proof": evidence.proofs[m.leaf]}
                       for m in evidence.milestones],
        "batches": [evidence.batch],
        "vouchers": [evidence.vouchers[k] for k in voucher_kinds],
    }
    return sign_certificate(body, SIGNER_KEY)


def _voucher_check(evidence: Evidence, cert: dict[str, Any]) -> tuple[list[Any], Any]:
    checks = verify_certificate(cert, w3=connect(evidence.rpc_url), trusted_signer=SIGNER,
                                trusted_registry=evidence.deployment.registry)
    return checks, next(c for c in checks if c.name == "voucher")


def test_a_voucher_on_the_breach_passes(evidence: Evidence) -> None:
    """The control: the same setup with the voucher on the breach leaf verifies."""
    checks, voucher = _voucher_check(evidence, _certificate(evidence, MilestoneKind.SLA_BREACH))
    assert all(c.status == CheckStatus.PASS for c in checks), checks
    assert overall_verdict(checks).ok
    assert voucher.summary.startswith("1 voucher issued on chain")


@pytest.mark.parametrize("kind", NOT_BREACHES)
def test_a_voucher_on_a_non_breach_milestone_fails(evidence: Evidence, kind: str) -> None:
    leaf = evidence.vouchers[kind]["breach_leaf"]
    assert next(m for m in evidence.milestones if m.leaf == leaf).kind == kind
    for listed in ((kind,), (MilestoneKind.SLA_BREACH, kind), (kind, MilestoneKind.SLA_BREACH)):
        checks, voucher = _voucher_check(evidence, _certificate(evidence, *listed))
        assert voucher.status == CheckStatus.FAIL, (listed, voucher)
        assert not overall_verdict(checks).ok
        label = f"voucher #{evidence.vouchers[kind]['voucher_id']}"
        assert any(line.startswith(label) and "does not rest on an SLA-breach milestone" in line
                   for line in voucher.details), voucher.details
        # Everything else about the certificate holds: only the evidence kind is wrong.
        assert all(c.status == CheckStatus.PASS for c in checks if c.name != "voucher"), checks


def test_auditor_tool_names_every_voucher_not_on_a_breach(evidence: Evidence, tmp_path: Path,
                                                          run_audit: AuditRunner) -> None:
    path = tmp_path / "certificate.json"
    write_certificate(path, _certificate(evidence, *ALL_KINDS))
    result = run_audit("verify", str(path), "--rpc", evidence.rpc_url, "--signer", SIGNER)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "FAIL  Compensation vouchers" in out and "NOT VERIFIED" in out
    refused = [line for line in out.splitlines() if "does not rest on an SLA-breach milestone" in line]
    assert len(refused) == len(NOT_BREACHES), out
    breach_voucher = f"voucher #{evidence.vouchers[MilestoneKind.SLA_BREACH]['voucher_id']} "
    assert not any(breach_voucher in line for line in refused)
