"""The AnchoringWorkflow and compensation on the real dev server, a real Anvil and real activities."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.anchoring import AnchoringActivities, build_chain_activities
from activities.compensation import CompensationActivities
from activities.tickets import TicketActivities
from chain.context import ChainContext
from contracts.anvil import AnvilProcess, free_port, start_anvil
from domain.evidence_types import AnchorBatchInput, AnchoringInput, batch_id_for
from domain.milestones import CURRENT_BATCH_FORMAT, tree_leaf
from domain.tickets import AnchorWait, RespondInput, TicketView, VoucherRequest
from readmodel import evidence, vouchers
from readmodel.db import session_scope
from settings import Settings
from tests.evidence.helpers import (
    add_milestones,
    all_milestones,
    anchored_events,
    assert_eventually,
    customer_ref,
    evidence_settings,
    issued_events,
    new_chain,
    restart_anvil,
    tx_count,
)
from tests.helpers import RecordingNotifier, new_worker, targets, ticket_input, ticket_policy
from worker import SANDBOX
from workflows.anchoring import AnchoringWorkflow, ensure_anchoring_started
from workflows.ticket import TicketWorkflow


class Stack:
    """A worker running TicketWorkflow + AnchoringWorkflow with real activities on one task queue."""

    def __init__(self, env: WorkflowEnvironment, settings: Settings, chain: ChainContext) -> None:
        self.client: Client = env.client
        self.settings = settings
        self.chain = chain
        self.db_url = settings.db_url
        self.task_queue = f"evidence-{uuid.uuid4()}"
        self.anchoring_id = f"anchoring-{uuid.uuid4()}"
        self.notifier = RecordingNotifier()
        tickets = TicketActivities(self.db_url)
        self.activities = [tickets.record_ticket, tickets.find_repeat_complaint, self.notifier.notify,
                           *build_chain_activities(settings, chain=chain)]
        self.handles: list[WorkflowHandle] = []  # type: ignore[type-arg]

    def worker(self) -> Worker:
        return new_worker(self.client, *self.activities, task_queue=self.task_queue,
                          workflows=[TicketWorkflow, AnchoringWorkflow])

    async def start_anchoring(self, **overrides: object) -> WorkflowHandle[AnchoringWorkflow, None]:
        values: dict[str, object] = {"max_leaves": 64, "max_wait_seconds": 0.5, "poll_seconds": 1.0,
                                     "reconcile_every": 5}
        values.update(overrides)
        await ensure_anchoring_started(self.client, self.settings, workflow_id=self.anchoring_id,
                                       task_queue=self.task_queue, input=AnchoringInput(**values))  # type: ignore[arg-type]
        handle: WorkflowHandle[AnchoringWorkflow, None] = self.client.get_workflow_handle_for(
            AnchoringWorkflow.run, self.anchoring_id)
        self.handles.append(handle)
        await handle.query(AnchoringWorkflow.status)
        return handle

    async def close(self) -> None:
        for handle in self.handles:
            # The latest run: the anchoring workflow may have continued as new.
            latest = self.client.get_workflow_handle(handle.id)
            if (await latest.describe()).status == WorkflowExecutionStatus.RUNNING:
                await latest.terminate("test over")


@pytest.fixture
async def evidence_stack(local_env: WorkflowEnvironment, evidence_anvil: AnvilProcess,
                         tmp_path: Path) -> AsyncIterator[Stack]:
    settings = evidence_settings(tmp_path, evidence_anvil.url)
    chain, _ = new_chain(settings)
    s = Stack(local_env, settings, chain)
    yield s
    await s.close()


def _proof(row_proof: str | None) -> list[bytes]:
    return [bytes.fromhex(p[2:]) for p in json.loads(row_proof or "[]")]


async def test_milestones_anchored_once_and_a_breach_gets_exactly_one_voucher(evidence_stack: Stack) -> None:
    stack = evidence_stack
    policy = ticket_policy(targets=targets(first_response_minutes=2 / 60, resolution_hours=1))
    breached = ticket_input(policy=policy, compensate=True, customer=customer_ref())
    on_time = ticket_input(policy=policy, compensate=True, customer=customer_ref())
    async with stack.worker():
        await stack.start_anchoring()
        handles = []
        for ticket in (breached, on_time):
            handle = await stack.client.start_workflow(TicketWorkflow.run, ticket, id=ticket.ticket_id,
                                                       task_queue=stack.task_queue)
            stack.handles.append(handle)
            handles.append(handle)
        await handles[1].execute_update(TicketWorkflow.respond, RespondInput(actor="agent"))

        async def voucher_issued() -> TicketView:
            view = await handles[0].query(TicketWorkflow.state)
            assert view.vouchers and view.milestones[-1].kind == "voucher_issued"
            return view

        view = await assert_eventually(voucher_issued, within=30)

        async def all_anchored() -> None:
            rows = all_milestones(stack.db_url)
            assert len(rows) >= len(view.milestones) + 2
            with session_scope(stack.db_url) as session:
                for row in rows:
                    assert row.batch_no is not None
                    batch = evidence.get_batch(session=session, batch_no=row.batch_no)
                    assert batch is not None and batch.status == "anchored"

        await assert_eventually(all_anchored, within=15)
        status = await stack.handles[0].query(AnchoringWorkflow.status)
        assert status.batches_this_run >= 2
        # The recorded histories replay deterministically.
        replayer = Replayer(workflows=[TicketWorkflow, AnchoringWorkflow], workflow_runner=SANDBOX)
        for handle in (stack.handles[0], handles[0]):
            await replayer.replay_workflow(await handle.fetch_history())

    assert view.breaches == ["first_response"] and len(view.vouchers) == 1
    claim = f"{breached.ticket_id}:first_response"
    voucher = view.vouchers[0]
    assert voucher.claim_id == claim and voucher.amount == policy.compensation["first_response"]["P3"]
    assert issued_events(stack.chain, claim) == 1
    assert issued_events(stack.chain, f"{on_time.ticket_id}:first_response") == 0
    on_chain = stack.chain.issuer().voucher(voucher.voucher_id)
    breach_leaf = next(m.leaf for m in view.milestones if m.kind == "sla_breach")
    assert on_chain.breach_leaf.hex() == breach_leaf[2:]
    assert on_chain.customer_ref.hex() == breached.customer_ref_hash[2:]

    # Every milestone: in exactly one batch, anchored once, its proof verified by the registry.
    rows = all_milestones(stack.db_url)
    registry = stack.chain.registry_reader()
    with session_scope(stack.db_url) as session:
        batches = {b.batch_no: b for b in evidence.anchored_batches_newest_first(session=session, limit=1000)}
    assert sum(b.leaf_count for b in batches.values()) == len(rows)
    assert sorted(batches) == list(range(1, len(batches) + 1))
    for batch_no in batches:
        assert anchored_events(stack.chain, batch_no) == 1
    for row in rows:
        root = bytes.fromhex(batches[row.batch_no or 0].root[2:])
        node = tree_leaf(bytes.fromhex(row.leaf[2:]), row.kind, CURRENT_BATCH_FORMAT)
        assert registry.verify_leaf(node, _proof(row.proof), root), row.leaf

    # Running the activities again with the same input sends nothing.
    env = ActivityEnvironment()
    anchoring = AnchoringActivities(stack.db_url, stack.chain)
    comp = CompensationActivities(stack.db_url, stack.chain)
    anchorer_txs = tx_count(stack.chain.w3, stack.chain.account("anchorer").address)
    issuer_txs = tx_count(stack.chain.w3, stack.chain.account("issuer").address)
    again = env.run(anchoring.anchor_batch, AnchorBatchInput(1))
    assert not again.sent
    anchored = env.run(comp.wait_for_anchor, AnchorWait(leaf=breach_leaf))
    request = VoucherRequest(ticket_id=breached.ticket_id, breach="first_response", claim_id=claim,
                             customer_ref_hash=breached.customer_ref_hash, amount=voucher.amount,
                             expires_at=on_chain.expires_at, leaf=anchored.leaf)
    result = env.run(comp.issue_voucher, request)
    assert (result.voucher_id, result.tx_hash) == (voucher.voucher_id, voucher.tx_hash)
    assert tx_count(stack.chain.w3, stack.chain.account("anchorer").address) == anchorer_txs
    assert tx_count(stack.chain.w3, stack.chain.account("issuer").address) == issuer_txs
    assert issued_events(stack.chain, claim) == 1


async def test_continue_as_new_carries_the_batch_number(evidence_stack: Stack) -> None:
    stack = evidence_stack
    async with stack.worker():
        handle = await stack.start_anchoring(max_batches_per_run=1, max_idle_polls_per_run=1000)
        first_run = (await handle.describe()).run_id
        for batch_no in (1, 2, 3):
            add_milestones(stack.db_url, 2)

            async def anchored(n: int = batch_no) -> None:
                with session_scope(stack.db_url) as session:
                    batch = evidence.get_batch(session=session, batch_no=n)
                    assert batch is not None and batch.status == "anchored" and batch.leaf_count == 2

            await assert_eventually(anchored, within=15)

        async def carried() -> None:
            status = await stack.client.get_workflow_handle(stack.anchoring_id).query(AnchoringWorkflow.status)
            assert status.next_batch_no == 4 and status.batches_this_run == 0

        await assert_eventually(carried, within=10)
        assert (await stack.client.get_workflow_handle(stack.anchoring_id).describe()).run_id != first_run
    for n in (1, 2, 3):
        assert anchored_events(stack.chain, n) == 1


async def test_reorg_batch_and_voucher_put_back_exactly_once(local_env: WorkflowEnvironment, tmp_path: Path) -> None:
    node = start_anvil(free_port(), state_path=tmp_path / "anvil-state.json")
    try:
        settings = evidence_settings(tmp_path, node.url)
        chain, _ = new_chain(settings)
        stack = Stack(local_env, settings, chain)
        comp = CompensationActivities(settings.db_url, chain)
        env = ActivityEnvironment()

        async def batch_anchored(batch_no: int) -> None:
            with session_scope(settings.db_url) as session:
                batch = evidence.get_batch(session=session, batch_no=batch_no)
                assert batch is not None and batch.status == "anchored"

        try:
            async with stack.worker():
                handle = await stack.start_anchoring(reconcile_every=10_000)
                add_milestones(settings.db_url, 4)
                await assert_eventually(lambda: batch_anchored(1), within=15)

                older = tmp_path / "older-state.json"
                node = restart_anvil(node, snapshot_to=older)  # a dump holding batch 1
                leaf = add_milestones(settings.db_url, 3, last_kind="sla_breach")[-1].leaf
                await assert_eventually(lambda: batch_anchored(2), within=30)
                request = VoucherRequest(ticket_id="T-reorg", breach="resolution", claim_id="T-reorg:resolution",
                                         customer_ref_hash=customer_ref(), amount=2000,
                                         expires_at=int(chain.w3.eth.get_block("latest")["timestamp"]) + 86400,
                                         leaf=leaf)
                issued = env.run(comp.issue_voucher, request)

                node = restart_anvil(node, state_from=older)  # the chain that stands lost batch 2
                assert chain.registry_reader().batch_root(batch_id_for(2)) is None
                assert chain.issuer().voucher_of_claim(bytes.fromhex(_claim(request.claim_id))) == 0
                # The chain grows past the lost blocks before anyone looks: a newer anchor that stands
                # must not vouch for batch 2, which was recorded on the lost branch.
                add_milestones(settings.db_url, 2)
                await assert_eventually(lambda: batch_anchored(3), within=30)

                await handle.signal(AnchoringWorkflow.reconcile_now)

                async def reanchored() -> None:
                    assert (await handle.query(AnchoringWorkflow.status)).reanchored == [2]
                    assert issued_events(chain, request.claim_id) == 1

                await assert_eventually(reanchored, within=30)
                # A second reconcile finds everything in place and sends nothing.
                before = tx_count(chain.w3, chain.account("anchorer").address)
                iterations = (await handle.query(AnchoringWorkflow.status)).iterations_this_run
                await handle.signal(AnchoringWorkflow.reconcile_now)

                async def reconciled_again() -> None:
                    status = await handle.query(AnchoringWorkflow.status)
                    assert status.iterations_this_run >= iterations + 2

                await assert_eventually(reconciled_again, within=15)
                assert (await handle.query(AnchoringWorkflow.status)).reanchored == [2]
                assert tx_count(chain.w3, chain.account("anchorer").address) == before
        finally:
            await stack.close()

        with session_scope(settings.db_url) as session:
            batch1 = evidence.get_batch(session=session, batch_no=1)
            batch2 = evidence.get_batch(session=session, batch_no=2)
            voucher = vouchers.get_voucher(session=session, claim_id=request.claim_id)
        assert batch1 is not None and batch2 is not None and voucher is not None
        assert (batch1.reanchor_count, batch2.reanchor_count) == (0, 1)
        assert anchored_events(chain, 1) == 1 and anchored_events(chain, 2) == 1 and anchored_events(chain, 3) == 1
        assert chain.registry_reader().batch_root(batch_id_for(2)) == bytes.fromhex(batch2.root[2:])
        receipt = chain.w3.eth.get_transaction_receipt(batch2.tx_hash)  # type: ignore[arg-type]
        assert "0x" + bytes(receipt["blockHash"]).hex() == batch2.block_hash
        assert issued_events(chain, request.claim_id) == 1
        # The record follows the chain that stands. (The resent transaction may even have the same
        # hash as the lost one: same nonce, same call, deterministic signature.)
        voucher_receipt = chain.w3.eth.get_transaction_receipt(voucher.tx_hash)  # type: ignore[arg-type]
        assert "0x" + bytes(voucher_receipt["blockHash"]).hex() == voucher.block_hash
        assert voucher.voucher_id == issued.voucher_id
        assert chain.issuer().voucher_of_claim(bytes.fromhex(voucher.claim_hash[2:])) == voucher.voucher_id
    finally:
        node.stop()


def _claim(claim_id: str) -> str:
    from domain.evidence_types import claim_hash

    return claim_hash(claim_id).hex()
