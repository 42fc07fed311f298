"""The anchoring activities against a real Anvil and a temp read model: batches, exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.anchoring import AnchoringActivities
from chain.context import ChainContext
from chain.faults import FAULT_ENV
from chain.keys import DEV_ADDRESSES
from contracts.anvil import AnvilProcess
from domain.evidence_types import (
    AnchorBatchInput,
    NextBatchInput,
    PrepareBatchInput,
    ReconcileInput,
    batch_id_for,
)
from domain.merkle import verify_proof
from domain.milestones import CURRENT_BATCH_FORMAT, tree_leaf
from readmodel import evidence
from readmodel.db import session_scope
from settings import ROOT
from tests.evidence.helpers import (
    add_milestones,
    all_milestones,
    anchored_events,
    evidence_settings,
    new_chain,
    tx_count,
)


class Rig:
    def __init__(self, tmp: Path, anvil: AnvilProcess) -> None:
        self.settings = evidence_settings(tmp, anvil.url)
        self.chain, self.deployment = new_chain(self.settings)
        self.acts = AnchoringActivities(self.settings.db_url, self.chain, poll_interval=0.02)
        self.env = ActivityEnvironment()
        self.db_url = self.settings.db_url

    def prepare(self, batch_no: int, max_leaves: int = 64, max_wait: float = 0.0, poll: float = 0.2):  # type: ignore[no-untyped-def]
        return self.env.run(self.acts.prepare_batch, PrepareBatchInput(batch_no, max_leaves, max_wait, poll))

    def anchor(self, batch_no: int):  # type: ignore[no-untyped-def]
        return self.env.run(self.acts.anchor_batch, AnchorBatchInput(batch_no))

    def anchorer_txs(self) -> int:
        return tx_count(self.chain.w3, self.chain.account("anchorer").address)


@pytest.fixture
def rig(tmp_path: Path, evidence_anvil: AnvilProcess) -> Rig:
    return Rig(tmp_path, evidence_anvil)


def test_dev_accounts_by_role_on_anvil(rig: Rig) -> None:
    chain = rig.chain
    roles = ["deployer", "anchorer", "issuer", "redeemer"]
    assert [chain.account(r).address for r in roles] == list(DEV_ADDRESSES)
    assert chain.account("signer").address == "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"


def test_keys_required_and_dev_keys_refused_off_anvil(tmp_path: Path) -> None:
    from chain.keys import DEV_PRIVATE_KEYS
    from contracts.anvil import free_port, start_anvil

    with start_anvil(free_port(), chain_id=1337) as node:
        chain = ChainContext(evidence_settings(tmp_path, node.url))
        with pytest.raises(ValueError, match="QT_ANCHOR_KEY is not set") as missing:
            chain.account("anchorer")
        dev = ChainContext(evidence_settings(tmp_path, node.url, issuer_key=DEV_PRIVATE_KEYS[2]))
        with pytest.raises(ValueError, match="well-known Anvil dev key refused") as refused:
            dev.account("issuer")
    for exc in (missing.value, refused.value):
        assert DEV_PRIVATE_KEYS[2].removeprefix("0x") not in str(exc)


def test_prepare_cuts_at_size_bound_is_idempotent_and_never_shares_a_leaf(rig: Rig) -> None:
    add_milestones(rig.db_url, 10)
    first = rig.prepare(1, max_leaves=4, max_wait=60)
    assert first.leaf_count == 4 and first.status == "prepared"
    assert first.batch_id == "0x" + batch_id_for(1).hex()
    again = rig.prepare(1, max_leaves=50, max_wait=0)
    assert again == first  # a retry gets the same batch, whatever the bounds say now
    second = rig.prepare(2, max_leaves=4, max_wait=60)
    third = rig.prepare(3, max_leaves=4, max_wait=0)  # only 2 left: cut by the time bound
    assert (second.leaf_count, third.leaf_count) == (4, 2)
    rows = all_milestones(rig.db_url)
    assert [r.batch_no for r in rows] == [1] * 4 + [2] * 4 + [3] * 2
    roots = {1: first.root, 2: second.root, 3: third.root}
    for row in rows:
        proof = [bytes.fromhex(p[2:]) for p in json.loads(row.proof or "[]")]
        node = tree_leaf(bytes.fromhex(row.leaf[2:]), row.kind, CURRENT_BATCH_FORMAT)  # new batches: format 2
        assert verify_proof(node, proof, bytes.fromhex(roots[row.batch_no or 0][2:]))


def test_prepare_waits_for_the_time_bound_and_returns_empty_when_idle(rig: Rig) -> None:
    started = time.monotonic()
    empty = rig.prepare(1, max_wait=0.3, poll=0.3)
    assert empty.leaf_count == 0 and time.monotonic() - started >= 0.3
    add_milestones(rig.db_url, 2)
    started = time.monotonic()
    batch = rig.prepare(1, max_leaves=100, max_wait=0.5, poll=0.1)
    waited = time.monotonic() - started
    assert batch.leaf_count == 2
    assert 0.3 <= waited < 2.0
    # A leaf already older than the bound is cut at once.
    add_milestones(rig.db_url, 1, at=datetime.now(UTC) - timedelta(seconds=5))
    started = time.monotonic()
    assert rig.prepare(2, max_leaves=100, max_wait=2.0).leaf_count == 1
    assert time.monotonic() - started < 1.0


def test_anchor_is_sent_once_and_a_retry_only_reads(rig: Rig) -> None:
    add_milestones(rig.db_url, 5)
    prepared = rig.prepare(1)
    before = rig.anchorer_txs()
    first = rig.anchor(1)
    assert first.sent and first.root == prepared.root and first.block_number > 0
    again = rig.anchor(1)
    assert not again.sent and again.tx_hash == first.tx_hash
    assert rig.anchorer_txs() == before + 1
    assert anchored_events(rig.chain, 1) == 1
    registry = rig.chain.registry_reader()
    for row in all_milestones(rig.db_url):
        proof = [bytes.fromhex(p[2:]) for p in json.loads(row.proof or "[]")]
        node = tree_leaf(bytes.fromhex(row.leaf[2:]), row.kind, CURRENT_BATCH_FORMAT)
        assert registry.verify_leaf(node, proof, bytes.fromhex(first.root[2:]))


def test_crash_between_anchor_tx_and_record_is_recorded_not_resent(rig: Rig) -> None:
    add_milestones(rig.db_url, 3)
    prepared = rig.prepare(1)
    # The transaction of an attempt that died before recording it: on chain, not in the read model.
    sent = rig.chain.registry().anchor(bytes.fromhex(prepared.root[2:]), prepared.leaf_count, batch_id_for(1))
    before = rig.anchorer_txs()
    result = rig.anchor(1)
    assert not result.sent and result.tx_hash == sent.tx_hash and result.block_hash == sent.block_hash
    assert rig.anchorer_txs() == before
    assert anchored_events(rig.chain, 1) == 1


def test_batch_id_taken_by_another_root_is_a_loud_conflict(rig: Rig) -> None:
    add_milestones(rig.db_url, 2)
    rig.prepare(1)
    rig.chain.registry().anchor(b"\x11" * 32, 7, batch_id_for(1))  # e.g. an old chain, a reset database
    with pytest.raises(ApplicationError) as err:
        rig.anchor(1)
    assert err.value.type == "BatchConflict" and err.value.non_retryable


def test_next_batch_number_resumes_at_the_first_unanchored_batch(rig: Rig) -> None:
    assert rig.env.run(rig.acts.next_batch_number, NextBatchInput()) == 1
    add_milestones(rig.db_url, 4)
    rig.prepare(1, max_leaves=2)
    rig.anchor(1)
    rig.prepare(2, max_leaves=2)
    assert rig.env.run(rig.acts.next_batch_number, NextBatchInput()) == 2
    rig.anchor(2)
    assert rig.env.run(rig.acts.next_batch_number, NextBatchInput()) == 3


def test_reconcile_on_an_intact_chain_sends_nothing(rig: Rig) -> None:
    add_milestones(rig.db_url, 6)
    for n in (1, 2, 3):
        rig.prepare(n, max_leaves=2)
        rig.anchor(n)
    before = rig.anchorer_txs()
    result = rig.env.run(rig.acts.reconcile_anchors, ReconcileInput())
    assert result.reanchored == [] and result.moved == [] and result.checked == 3
    assert rig.anchorer_txs() == before
    with session_scope(rig.db_url) as session:
        assert [b.reanchor_count for b in evidence.anchored_batches_newest_first(session=session, limit=9)] == \
            [0, 0, 0]


CHILD = """
import sys
from pathlib import Path
from activities.anchoring import AnchoringActivities
from chain.faults import FAULT_ENV
from chain.context import ChainContext
from domain.evidence_types import AnchorBatchInput
from tests.evidence.helpers import evidence_settings
settings = evidence_settings(Path(sys.argv[1]), sys.argv[2])
AnchoringActivities(settings.db_url, ChainContext(settings)).anchor_batch(AnchorBatchInput(1))
print("recorded")
"""


def test_worker_killed_between_anchor_tx_and_record_still_one_anchor(rig: Rig, tmp_path: Path) -> None:
    add_milestones(rig.db_url, 3)
    prepared = rig.prepare(1)
    before = rig.anchorer_txs()
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), rig.settings.rpc_url], cwd=ROOT,
                           env={**os.environ, FAULT_ENV: "anchor_sent"}, capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert rig.anchorer_txs() == before + 1
    with session_scope(rig.db_url) as session:
        batch = evidence.get_batch(session=session, batch_no=1)
        assert batch is not None and batch.status == "prepared"  # mined, never recorded
    result = rig.anchor(1)  # the retry on the restarted worker
    assert not result.sent and result.root == prepared.root
    assert rig.anchorer_txs() == before + 1
    assert anchored_events(rig.chain, 1) == 1
