"""AnchoringWorkflow: one long-running instance batches pending leaves and anchors each batch once.

Loop: ``prepare_batch(n)`` (cuts batch ``n`` at the size or time bound, or returns it again on a
retry), then ``anchor_batch(n)`` (one transaction, after asking the chain whether batch ``n`` is
already anchored), then ``n + 1``. The workflow alone hands out batch numbers, one at a time, so
batches are anchored in order and never concurrently. Every ``reconcile_every`` iterations (and
at the start of each run) it runs ``reconcile_anchors`` then ``reconcile_vouchers``, which put back
anything a chain reorganisation removed. It continues-as-new after ``max_batches_per_run``
batches or ``max_idle_polls_per_run`` empty polls, carrying the next batch number, so its history
stays bounded however long it runs.

Deterministic: only workflow time and activity results; all I/O is in activities/anchoring.py
and activities/compensation.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy

from workflows.names import ANCHORING_WORKFLOW
from workflows.support import DB_RETRY, DB_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.anchoring import AnchoringActivities
    from activities.compensation import CompensationActivities
    from domain.evidence_types import (
        AnchorBatchInput,
        AnchorBatchResult,
        AnchoringBounds,
        AnchoringInput,
        AnchoringStatus,
        NextBatchInput,
        PrepareBatchInput,
        PreparedBatch,
        ReconcileInput,
    )

if TYPE_CHECKING:  # the settings module (pydantic) never enters the workflow sandbox
    from settings import Settings

__all__ = ["ANCHORING_WORKFLOW_ID", "EVIDENCE_WORKFLOWS", "AnchoringWorkflow", "ensure_anchoring_started"]

ANCHORING_WORKFLOW_ID = "qualitrail-anchoring"

# No attempt limit: a node that is down, a paused registry or a missing role is fixed by an
# operator, and anchoring must then resume where it stopped. Conflicts that no retry can fix are
# raised as non-retryable by the activities and fail the workflow loudly.
# Every activity here heartbeats at least every 2 s (temporal.heartbeat.heartbeating).
HEARTBEAT = timedelta(seconds=15)
CHAIN_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                          maximum_interval=timedelta(seconds=30))


@workflow.defn(name=ANCHORING_WORKFLOW)
class AnchoringWorkflow:
    """The one batching loop (workflow id ``qualitrail-anchoring``); see the module docstring."""

    @workflow.init
    def __init__(self, input: AnchoringInput) -> None:
        self.input = input
        self.next_batch_no = input.next_batch_no
        self.batches = 0
        self.idle_polls = 0
        self.iterations = 0
        self.last_root = ""
        self.last_tx_hash = ""
        self.reanchored: list[int] = []
        self.reconcile_requested = False

    @workflow.run
    async def run(self, input: AnchoringInput) -> None:
        """Batch and anchor until continued-as-new; never returns on its own."""
        if self.next_batch_no <= 0:
            self.next_batch_no = await workflow.execute_activity_method(
                AnchoringActivities.next_batch_number, NextBatchInput(), start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY)
        while True:
            if self.iterations % max(self.input.reconcile_every, 1) == 0 or self.reconcile_requested:
                self.reconcile_requested = False
                await self._reconcile()
            self.iterations += 1
            prepared = await self._prepare()
            if prepared.leaf_count == 0:
                self.idle_polls += 1
            else:
                anchored = await self._anchor(prepared.batch_no)
                self.last_root = anchored.root
                self.last_tx_hash = anchored.tx_hash
                self.batches += 1
                self.next_batch_no = prepared.batch_no + 1
            if (self.batches >= self.input.max_batches_per_run
                    or self.idle_polls >= self.input.max_idle_polls_per_run
                    or workflow.info().is_continue_as_new_suggested()):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(replace(self.input, next_batch_no=self.next_batch_no))

    async def _prepare(self) -> PreparedBatch:
        inp = self.input
        prepare = PrepareBatchInput(batch_no=self.next_batch_no, max_leaves=inp.max_leaves,
                                    max_wait_seconds=inp.max_wait_seconds, poll_seconds=inp.poll_seconds)
        # The activity waits up to poll_seconds for a first leaf, then up to max_wait_seconds for
        # the batch to fill; heartbeats catch a worker that died while it waited.
        return await workflow.execute_activity_method(
            AnchoringActivities.prepare_batch, prepare,
            start_to_close_timeout=timedelta(seconds=inp.poll_seconds + inp.max_wait_seconds + 60),
            heartbeat_timeout=HEARTBEAT, retry_policy=DB_RETRY)

    async def _anchor(self, batch_no: int) -> AnchorBatchResult:
        # The activity heartbeats while it waits on the chain, so a worker killed mid-send is
        # noticed within the heartbeat timeout and the retry (chain-first) takes over.
        return await workflow.execute_activity_method(
            AnchoringActivities.anchor_batch, AnchorBatchInput(batch_no=batch_no),
            start_to_close_timeout=timedelta(seconds=self.input.anchor_timeout_seconds),
            heartbeat_timeout=HEARTBEAT, retry_policy=CHAIN_RETRY)

    async def _reconcile(self) -> None:
        request = ReconcileInput(max_batches=self.input.reconcile_depth)
        timeout = timedelta(seconds=self.input.anchor_timeout_seconds * 4)
        anchors = await workflow.execute_activity_method(
            AnchoringActivities.reconcile_anchors, request, start_to_close_timeout=timeout,
            heartbeat_timeout=HEARTBEAT, retry_policy=CHAIN_RETRY)
        self.reanchored.extend(anchors.reanchored)
        for problem in anchors.problems:
            workflow.logger.warning("reconcile_anchors: %s", problem)
        # After the anchors: a voucher can only be issued again once its evidence is back.
        vouchers = await workflow.execute_activity_method(
            CompensationActivities.reconcile_vouchers, request, start_to_close_timeout=timeout,
            heartbeat_timeout=HEARTBEAT, retry_policy=CHAIN_RETRY)
        for problem in vouchers.problems:
            workflow.logger.warning("reconcile_vouchers: %s", problem)

    @workflow.signal
    def set_bounds(self, bounds: AnchoringBounds) -> None:
        """New size/time bounds (from settings at worker start); used from the next batch."""
        if bounds.max_leaves >= 1 and bounds.max_wait_seconds > 0:
            self.input = replace(self.input, max_leaves=bounds.max_leaves,
                                 max_wait_seconds=bounds.max_wait_seconds)

    @workflow.signal
    def reconcile_now(self) -> None:
        """Run the reorg check before the next batch (e.g. after a node was restored)."""
        self.reconcile_requested = True

    @workflow.query
    def status(self) -> AnchoringStatus:
        """Where the loop is."""
        return AnchoringStatus(
            next_batch_no=self.next_batch_no, batches_this_run=self.batches,
            idle_polls_this_run=self.idle_polls, iterations_this_run=self.iterations,
            last_root=self.last_root, last_tx_hash=self.last_tx_hash, reanchored=list(self.reanchored))


EVIDENCE_WORKFLOWS: list[type] = [AnchoringWorkflow]


async def ensure_anchoring_started(
    client: Client,
    settings: Settings,
    *,
    workflow_id: str = ANCHORING_WORKFLOW_ID,
    task_queue: str | None = None,
    input: AnchoringInput | None = None,
) -> None:
    """Start the one anchoring workflow if it is not running, and give it the current bounds.

    Safe to call at every worker start: a running instance is kept (``USE_EXISTING``) and only
    receives the batch size and time bounds from ``settings`` as a signal.

    Args:
        client: Temporal client.
        settings: ``anchor_batch_size``, ``anchor_batch_seconds``, ``anchor_reconcile_every`` and
            ``task_queue``.
        workflow_id: The instance's id (tests use their own).
        task_queue: Defaults to ``settings.task_queue``.
        input: Full input for a new instance; built from ``settings`` when ``None``.
    """
    bounds = AnchoringBounds(max_leaves=settings.anchor_batch_size, max_wait_seconds=settings.anchor_batch_seconds)
    start = input or AnchoringInput(max_leaves=bounds.max_leaves, max_wait_seconds=bounds.max_wait_seconds,
                                    reconcile_every=settings.anchor_reconcile_every)
    handle = await client.start_workflow(
        AnchoringWorkflow.run, start, id=workflow_id, task_queue=task_queue or settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    if input is None:
        await handle.signal(AnchoringWorkflow.set_bounds, bounds)
