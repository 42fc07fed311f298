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

from pathlib import Path
from typing import Any

import pytest

from certificates.issue import write_certificate
from certificates.verify import verify_certificate
from chain.rpc import connect
from contracts.anvil import AnvilProcess
from domain.certificate import CERTIFICATE_FORMAT, sign_certificate
from domain.certificate_checks import CheckStatus, overall_verdict
from domain.milestones import MilestoneKind, format_time
from tests.certificates.conftest import AuditRunner
from tests.certificates.shared_chain import SharedChain
from tests.certificates.world import (
    ALL_KINDS,
    BATCH_NO,
    NOT_BREACHES,
    SIGNER,
    SIGNER_KEY,
    Evidence,
    build_kinds_evidence,
)
from tests.certificates.world import KINDS_TICKET as TICKET


@pytest.fixture(scope="module")
def evidence(cert_anvil: AnvilProcess, shared_chain: SharedChain | None) -> Evidence:
    # Built once per mutation run when the chain is shared (tests/certificates/shared_chain.py).
    return shared_chain.evidence if shared_chain is not None else build_kinds_evidence(cert_anvil.url)


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
