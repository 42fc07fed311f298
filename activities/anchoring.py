"""Activities of the AnchoringWorkflow: cut batches, anchor them once, repair after reorgs.

Exactly once, by construction rather than by luck:

- ``prepare_batch`` claims leaves and stores the batch row in one read-model transaction keyed on
  the batch number the workflow chose, so a retry returns the same batch and no leaf can land in
  two batches (a leaf's ``batch_no`` is only ever set from NULL).
- ``anchor_batch`` asks the registry ``rootOfBatch(batchId)`` before sending. The batch id is
  derived from the batch number (:py:func:`domain.evidence_types.batch_id_for`), so after any
  crash — even one between the transaction being mined and its record — the next attempt finds
  the anchor and only records it. The contract itself rejects a second anchor of the same root or
  batch id, so even two concurrent attempts cannot both land.
- ``reconcile_anchors`` compares the recorded block hashes with the chain. One recorded block
  that still has its hash proves every earlier block stands (block hashes chain), so it walks
  back from the newest anchor only until that happens; batches above that point are looked up
  on chain and anchored again if the chain lost them (same batch id, same root).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.compensation import CompensationActivities
from chain.base import TxMark
from chain.context import ChainContext
from chain.faults import fault_point
from chain.reverts import ContractRevertError
from domain.encoding import from_hex, parse_time, to_hex
from domain.evidence_types import (
    AnchorBatchInput,
    AnchorBatchResult,
    NextBatchInput,
    PrepareBatchInput,
    PreparedBatch,
    ReconcileInput,
    ReconcileResult,
)
from domain.policy import PolicyError, load_policy
from observability.worker_metrics import record_anchor_batch
from readmodel import evidence
from readmodel.db import session_scope
from readmodel.models import AnchorBatch
from settings import Settings
from temporal.heartbeat import heartbeat, heartbeating

__all__ = ["AnchoringActivities", "build_chain_activities"]

log = logging.getLogger("qualitrail.anchoring")

_ALREADY_ANCHORED = ("EvidenceRegistryRootAlreadyAnchored", "EvidenceRegistryBatchAlreadyAnchored")


class AnchoringActivities:
    """Activities bound to one read model and one chain.

    Args:
        db_url: Read-model database URL.
        chain: The chain context (the anchorer account signs).
        poll_interval: Seconds between read-model polls while a batch fills.
    """

    def __init__(self, db_url: str, chain: ChainContext, *, poll_interval: float = 0.1) -> None:
        self.db_url = db_url
        self.chain = chain
        self.poll_interval = poll_interval

    # ------------------------------------------------------------------ activities

    @activity.defn(name="next_batch_number")
    def next_batch_number(self, _: NextBatchInput) -> int:
        """Return the batch number a newly started anchoring workflow continues from."""
        with session_scope(self.db_url) as session:
            return evidence.next_batch_number(session=session)

    @activity.defn(name="prepare_batch")
    def prepare_batch(self, prepare: PrepareBatchInput) -> PreparedBatch:
        """Return batch ``batch_no``, cutting it from pending leaves when a bound is reached.

        Returns the already prepared batch on a retry. Otherwise waits (heartbeating) until
        ``max_leaves`` leaves are pending or the oldest pending one is ``max_wait_seconds`` old,
        then claims them; returns an empty batch if no leaf was pending for ``poll_seconds``.
        """
        poll_deadline = time.monotonic() + prepare.poll_seconds
        first_seen: float | None = None  # local clock: bounds the wait even if `at` is skewed
        while True:
            heartbeat(prepare.batch_no)
            with session_scope(self.db_url) as session:
                batch = evidence.get_batch(session=session, batch_no=prepare.batch_no)
                if batch is not None:
                    return _prepared(batch)
                count, oldest = evidence.pending_stats(session=session)
                if count and first_seen is None:
                    first_seen = time.monotonic()
                if count and self._due(count, oldest, first_seen, prepare):
                    batch = evidence.claim_batch(session=session, batch_no=prepare.batch_no,
                                                 max_leaves=prepare.max_leaves)
                    if batch is not None:
                        log.info("batch %d prepared: %d leaves, root %s", batch.batch_no, batch.leaf_count,
                                 batch.root)
                        return _prepared(batch)
                    continue
            if not count and time.monotonic() >= poll_deadline:
                return PreparedBatch(batch_no=prepare.batch_no)
            time.sleep(self.poll_interval)

    @activity.defn(name="anchor_batch")
    def anchor_batch(self, request: AnchorBatchInput) -> AnchorBatchResult:
        """Anchor batch ``batch_no`` exactly once and record its transaction and block.

        Looks on chain first: an anchor sent by an earlier attempt is only recorded.
        """
        with heartbeating():
            return self._anchor_batch(request)

    def _anchor_batch(self, request: AnchorBatchInput) -> AnchorBatchResult:
        with session_scope(self.db_url) as session:
            batch = evidence.get_batch(session=session, batch_no=request.batch_no)
            if batch is None:
                raise ApplicationError(f"batch {request.batch_no} was never prepared", type="UnknownBatch",
                                       non_retryable=True)
            if batch.status == evidence.ANCHORED:
                return _result(batch, sent=False)
        return self.anchor_once(batch, reanchor=False)

    @activity.defn(name="reconcile_anchors")
    def reconcile_anchors(self, request: ReconcileInput) -> ReconcileResult:
        """Find recorded anchors the chain no longer has and anchor them again, once."""
        with heartbeating():
            return self._reconcile_anchors(request)

    def _reconcile_anchors(self, request: ReconcileInput) -> ReconcileResult:
        result = ReconcileResult()
        with session_scope(self.db_url) as session:
            batches = evidence.anchored_batches_newest_first(session=session, limit=request.max_batches)
        standing = self.chain.standing_marks([(b.block_number or 0, b.block_hash or "") for b in batches])
        result.checked = len(batches)
        suspects = [b for b in batches if (b.block_number, (b.block_hash or "").lower()) not in standing]
        for batch in sorted(suspects, key=lambda b: b.batch_no):
            heartbeat(batch.batch_no)
            found = self._find_on_chain(batch)
            if found is not None:
                if (found.tx_hash, found.block_hash) != (batch.tx_hash, batch.block_hash):
                    # Still anchored, in another block (re-included, or sent by an interrupted
                    # reconcile): only the record moves.
                    self._record(batch.batch_no, found, reanchored=False)
                    result.moved.append(batch.batch_no)
                continue
            log.warning("batch %d (root %s) is gone from the chain: anchoring it again", batch.batch_no,
                        batch.root)
            self.anchor_once(batch, reanchor=True)
            result.reanchored.append(batch.batch_no)
        return result

    # ------------------------------------------------------------------ helpers

    def _due(self, count: int, oldest: str | None, first_seen: float | None,
             prepare: PrepareBatchInput) -> bool:
        if count >= prepare.max_leaves:
            return True
        if oldest is not None:
            age = (datetime.now(UTC) - parse_time(oldest)).total_seconds()
            if age >= prepare.max_wait_seconds:
                return True
        return first_seen is not None and time.monotonic() - first_seen >= prepare.max_wait_seconds

    def anchor_once(self, batch: AnchorBatch, *, reanchor: bool) -> AnchorBatchResult:
        """Make sure ``batch`` is anchored on the chain that stands, and record where.

        Args:
            batch: The batch row (detached is fine).
            reanchor: The batch was recorded as anchored but the chain lost it.

        Returns:
            The recorded anchor; ``sent`` tells whether this call sent the transaction.
        """
        found = self._find_on_chain(batch)
        sent = False
        if found is None:
            try:
                receipt = self.chain.registry().anchor(from_hex(batch.root), batch.leaf_count,
                                                       from_hex(batch.batch_id))
            except ContractRevertError as exc:
                if exc.error_name not in _ALREADY_ANCHORED:
                    # Paused, missing role, ...: an operator can fix those, so keep retrying.
                    raise ApplicationError(f"anchoring batch {batch.batch_no} reverted: {exc}",
                                           type=exc.error_name or "ContractRevert") from exc
                found = self._find_on_chain(batch)  # a concurrent attempt won the race
                if found is None:
                    raise ApplicationError(
                        f"root of batch {batch.batch_no} is anchored under another batch id",
                        type="BatchConflict", non_retryable=True) from exc
            else:
                sent = True
                fault_point("anchor_sent")
                found = receipt
                log.info("batch %d anchored in tx %s block %d", batch.batch_no, receipt.tx_hash,
                         receipt.block_number)
                record_anchor_batch()
        recorded = self._record(batch.batch_no, found, reanchored=reanchor and sent)
        return _result(recorded, sent=sent)

    def _record(self, batch_no: int, found: TxMark, *, reanchored: bool) -> AnchorBatch:
        with session_scope(self.db_url) as session:
            return evidence.mark_anchored(session=session, batch_no=batch_no, tx_hash=found.tx_hash,
                                          block_number=found.block_number, block_hash=found.block_hash,
                                          reanchored=reanchored)

    def _find_on_chain(self, batch: AnchorBatch) -> TxMark | None:
        """Where the chain has this batch anchored (confirmed), or ``None`` if it has not."""
        registry = self.chain.registry_reader()

        def find() -> TxMark | None:
            root = registry.batch_root(from_hex(batch.batch_id))
            if root is None:
                return None
            if to_hex(root) != batch.root.lower():
                # The id is taken by another root: this read model and this registry disagree
                # (e.g. a reset database against an old chain). Never paper over that.
                raise ApplicationError(
                    f"batch {batch.batch_no} id {batch.batch_id} is anchored on chain with root {to_hex(root)}, "
                    f"not {batch.root}", type="BatchConflict", non_retryable=True)
            info = registry.anchor_info(root)
            if info is None:
                return None
            found = registry.anchor_event(from_hex(batch.batch_id), info.block_number)
            if found is None:  # anchored, but its block is being replaced: ask again on retry
                raise ApplicationError(f"anchor of batch {batch.batch_no} has no RootAnchored log yet")
            return found

        return self.chain.confirmed(find, f"anchor of batch {batch.batch_no}", on_poll=heartbeat)


def _prepared(batch: AnchorBatch) -> PreparedBatch:
    return PreparedBatch(batch_no=batch.batch_no, leaf_count=batch.leaf_count, batch_id=batch.batch_id,
                         root=batch.root, status=batch.status)


def _result(batch: AnchorBatch, *, sent: bool) -> AnchorBatchResult:
    return AnchorBatchResult(
        batch_no=batch.batch_no, batch_id=batch.batch_id, root=batch.root, leaf_count=batch.leaf_count,
        tx_hash=batch.tx_hash or "", block_number=batch.block_number or 0, block_hash=batch.block_hash or "",
        sent=sent)


def build_chain_activities(settings: Settings, *, chain: ChainContext | None = None) -> list[Callable[..., Any]]:
    """Return the anchoring and compensation activities for the worker's activity list.

    The chain is connected lazily: the worker starts even while the node is down.

    Args:
        settings: Database URL, chain connection and keys, ``var_dir``, policy file (currency).
        chain: An existing chain context (tests, the bench); made from ``settings`` when ``None``.

    Returns:
        The activity callables.
    """
    ctx = chain or ChainContext(settings)
    try:
        currency = load_policy(settings.policy_file).compensation.currency
    except PolicyError:
        currency = ""  # the API refuses to start on a bad policy file; the voucher still works
    anchoring = AnchoringActivities(settings.db_url, ctx)
    compensation = CompensationActivities(settings.db_url, ctx, currency=currency)
    return [
        anchoring.next_batch_number,
        anchoring.prepare_batch,
        anchoring.anchor_batch,
        anchoring.reconcile_anchors,
        compensation.wait_for_anchor,
        compensation.issue_voucher,
        compensation.reconcile_vouchers,
    ]
