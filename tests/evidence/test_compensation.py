"""issue_voucher / wait_for_anchor against a real Anvil: one voucher per claim, also across a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.anchoring import AnchoringActivities
from activities.compensation import CompensationActivities
from chain.faults import FAULT_ENV
from contracts.anvil import AnvilProcess
from domain.evidence_types import AnchorBatchInput, PrepareBatchInput, ReconcileInput, claim_hash
from domain.milestones import CURRENT_BATCH_FORMAT, tree_leaf
from domain.tickets import AnchorWait, VoucherRequest
from readmodel import vouchers
from readmodel.db import session_scope
from readmodel.models import AnchorBatch, Voucher
from settings import ROOT
from tests.evidence.helpers import (
    add_milestones,
    customer_ref,
    evidence_settings,
    issued_events,
    new_chain,
    tx_count,
)


class Rig:
    def __init__(self, tmp: Path, anvil: AnvilProcess) -> None:
        self.tmp = tmp
        self.settings = evidence_settings(tmp, anvil.url)
        self.chain, self.deployment = new_chain(self.settings)
        self.anchoring = AnchoringActivities(self.settings.db_url, self.chain, poll_interval=0.02)
        self.comp = CompensationActivities(self.settings.db_url, self.chain, currency="CNY", wait_seconds=0.3)
        self.env = ActivityEnvironment()
        self.db_url = self.settings.db_url
        self.batches = 0

    def anchored_leaf(self) -> str:
        """A breach leaf, batched and anchored."""
        leaf = add_milestones(self.db_url, 3, last_kind="sla_breach")[-1].leaf
        self.batches += 1
        self.env.run(self.anchoring.prepare_batch, PrepareBatchInput(self.batches, 64, 0.0, 0.2))
        self.env.run(self.anchoring.anchor_batch, AnchorBatchInput(self.batches))
        return leaf

    def request(self, leaf: str, ticket_id: str = "T-comp-1", breach: str = "first_response") -> VoucherRequest:
        return VoucherRequest(ticket_id=ticket_id, breach=breach, claim_id=f"{ticket_id}:{breach}",
                              customer_ref_hash=customer_ref(), amount=500,
                              expires_at=int(time.time()) + 86400, leaf=leaf)

    def issuer_txs(self) -> int:
        return tx_count(self.chain.w3, self.chain.account("issuer").address)


@pytest.fixture
def rig(tmp_path: Path, evidence_anvil: AnvilProcess) -> Rig:
    return Rig(tmp_path, evidence_anvil)


def test_wait_for_anchor_retries_until_anchored_then_returns_the_proof(rig: Rig) -> None:
    last = add_milestones(rig.db_url, 2)[-1]
    leaf = last.leaf
    with pytest.raises(ApplicationError) as err:
        rig.env.run(rig.comp.wait_for_anchor, AnchorWait(leaf=leaf))
    assert err.value.type == "NotAnchoredYet" and not err.value.non_retryable
    rig.env.run(rig.anchoring.prepare_batch, PrepareBatchInput(1, 64, 0.0, 0.2))
    anchored_batch = rig.env.run(rig.anchoring.anchor_batch, AnchorBatchInput(1))
    got = rig.env.run(rig.comp.wait_for_anchor, AnchorWait(leaf=leaf))
    assert got.root == anchored_batch.root and got.tx_hash == anchored_batch.tx_hash
    node = tree_leaf(bytes.fromhex(leaf[2:]), last.kind, CURRENT_BATCH_FORMAT)  # the batch's tree leaf
    assert rig.chain.registry_reader().verify_leaf(node, [bytes.fromhex(p[2:]) for p in got.proof],
                                                  bytes.fromhex(got.root[2:]))


def test_issue_voucher_once_and_a_retry_reads_it_back(rig: Rig) -> None:
    request = rig.request(rig.anchored_leaf())
    before = rig.issuer_txs()
    first = rig.env.run(rig.comp.issue_voucher, request)
    again = rig.env.run(rig.comp.issue_voucher, request)
    assert again == first
    assert rig.issuer_txs() == before + 1
    assert issued_events(rig.chain, request.claim_id) == 1
    info = rig.chain.issuer().voucher(first.voucher_id)
    assert info.amount == 500 and info.breach_leaf.hex() == request.leaf[2:]
    assert info.customer_ref.hex() == request.customer_ref_hash[2:]
    with session_scope(rig.db_url) as session:
        row = vouchers.get_voucher(session=session, claim_id=request.claim_id)
        assert row is not None and row.voucher_id == first.voucher_id and row.tx_hash == first.tx_hash
        assert row.currency == "CNY" and row.claim_hash == "0x" + claim_hash(request.claim_id).hex()


def test_reconcile_reports_a_malformed_voucher_row_and_checks_the_rest(rig: Rig) -> None:
    # One bad row in the read model (here: no claim hash) must not stop the reconciliation: the
    # anchoring loop runs it, and an activity that raised on the row would be retried forever.
    issued = rig.env.run(rig.comp.issue_voucher, rig.request(rig.anchored_leaf()))
    expired = int(time.time()) - 60
    with session_scope(rig.db_url) as session:
        for n, claim in enumerate(("", "0x" + claim_hash("T-gone:first_response").hex())):
            ticket = ("T-bad", "T-gone")[n]
            session.add(Voucher(claim_id=f"{ticket}:first_response", ticket_id=ticket, breach="first_response",
                                voucher_id=900 + n, amount=100, currency="CNY", tx_hash="0x" + "ab" * 32,
                                block_number=n + 1, redeemed=False, claim_hash=claim, expires_at=expired))
        session.commit()
    result = rig.env.run(rig.comp.reconcile_vouchers, ReconcileInput(max_batches=50))
    assert result.checked == 2 and result.reissued == [] and result.reredeemed == []
    assert result.problems == ["voucher row T-bad:first_response is unreadable: claim_hash must be 32 bytes",
                               "voucher for T-gone:first_response vanished and has expired: not reissued"]
    assert rig.chain.issuer().voucher_of_claim(claim_hash(rig.request("").claim_id)) == issued.voucher_id


def test_issue_voucher_for_an_unanchored_leaf_asks_to_be_retried(rig: Rig) -> None:
    leaf = add_milestones(rig.db_url, 1)[0].leaf
    before = rig.issuer_txs()
    with pytest.raises(ApplicationError) as err:
        rig.env.run(rig.comp.issue_voucher, rig.request(leaf))
    assert err.value.type == "NotAnchoredYet" and not err.value.non_retryable
    assert rig.issuer_txs() == before


def test_a_breach_in_a_format_1_batch_cannot_back_a_voucher(rig: Rig) -> None:
    # A breach anchored before batch format 2 existed: the contract could not prove its kind, so the
    # activity says so for good instead of sending a transaction that reverts on every retry.
    leaf = add_milestones(rig.db_url, 2, last_kind="sla_breach")[-1].leaf
    rig.env.run(rig.anchoring.prepare_batch, PrepareBatchInput(1, 64, 0.0, 0.2))
    with session_scope(rig.db_url) as session:
        batch = session.get(AnchorBatch, 1)
        assert batch is not None
        batch.format = 1
        session.add(batch)
        session.commit()
    rig.env.run(rig.anchoring.anchor_batch, AnchorBatchInput(1))
    before = rig.issuer_txs()
    with pytest.raises(ApplicationError) as err:
        rig.env.run(rig.comp.issue_voucher, rig.request(leaf))
    assert err.value.type == "EvidenceFormatTooOld" and err.value.non_retryable
    assert rig.issuer_txs() == before


def test_expired_voucher_request_fails_without_retry(rig: Rig) -> None:
    request = rig.request(rig.anchored_leaf())
    request.expires_at = int(time.time()) - 10
    with pytest.raises(ApplicationError) as err:
        rig.env.run(rig.comp.issue_voucher, request)
    assert err.value.type == "CompensationVoucherExpiryInPast" and err.value.non_retryable


CHILD = """
import sys, time
from chain.context import ChainContext
from activities.compensation import CompensationActivities
from domain.tickets import VoucherRequest
from tests.evidence.helpers import evidence_settings
from pathlib import Path
settings = evidence_settings(Path(sys.argv[1]), sys.argv[2])
acts = CompensationActivities(settings.db_url, ChainContext(settings))
acts.issue_voucher(VoucherRequest(ticket_id=sys.argv[3], breach="first_response", claim_id=sys.argv[4],
                                  customer_ref_hash=sys.argv[5], amount=500, expires_at=int(sys.argv[6]),
                                  leaf=sys.argv[7]))
print("recorded")
"""


def test_worker_killed_between_voucher_tx_and_record_still_one_voucher(rig: Rig) -> None:
    request = rig.request(rig.anchored_leaf(), ticket_id="T-killed")
    before = rig.issuer_txs()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(rig.tmp), rig.settings.rpc_url, request.ticket_id, request.claim_id,
         request.customer_ref_hash, str(request.expires_at), request.leaf],
        cwd=ROOT, env={**os.environ, FAULT_ENV: "voucher_sent"}, capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "recorded" not in child.stdout
    # Sent and mined, never recorded: the state a crashed worker leaves behind.
    assert rig.issuer_txs() == before + 1
    with session_scope(rig.db_url) as session:
        assert vouchers.get_voucher(session=session, claim_id=request.claim_id) is None
    result = rig.env.run(rig.comp.issue_voucher, request)  # the retry on the restarted worker
    assert rig.issuer_txs() == before + 1
    assert issued_events(rig.chain, request.claim_id) == 1
    assert result.voucher_id == rig.chain.issuer().voucher_of_claim(claim_hash(request.claim_id))
    with session_scope(rig.db_url) as session:
        row = vouchers.get_voucher(session=session, claim_id=request.claim_id)
        assert row is not None and row.voucher_id == result.voucher_id and row.tx_hash == result.tx_hash
