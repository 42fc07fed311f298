"""A breached ticket that is resolved, reopened and resolved again breaches, alerts and compensates once.

Reopening restarts the resolution clock with its elapsed time (domain/sla_clock.py): an event that
already fired must stay fired, or a reopened ticket whose target was missed before would breach,
alert and ask for a voucher a second time. Checked with one worker and with a new worker without
a workflow cache for every step (every task replays the whole history, as after a crash).
"""

from __future__ import annotations

from collections import Counter

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from domain.tickets import (
    ActorInput,
    AnchoredLeaf,
    AnchorWait,
    ResolveInput,
    RespondInput,
    TicketView,
    VoucherRequest,
    VoucherResult,
)
from readmodel import crud
from readmodel.db import session_scope
from tests.helpers import new_worker, ticket_input
from tests.workflows.desk import Desk, H, alerts
from workflows.ticket import TicketWorkflow

CLOCKS = ("first_response", "resolution")


class VoucherLedger:
    """Stands in for the chain: anchors every leaf at once and issues one voucher per claim, as the
    contract does (a second request for a claim gets the first voucher back). Records every request."""

    def __init__(self) -> None:
        self.requests: list[VoucherRequest] = []
        self.issued: dict[str, int] = {}

    @activity.defn(name="wait_for_anchor")
    def wait_for_anchor(self, wait: AnchorWait) -> AnchoredLeaf:
        return AnchoredLeaf(leaf=wait.leaf, root="0x" + "11" * 32, proof=[], tx_hash="0x" + "22" * 32, block_number=7)

    @activity.defn(name="issue_voucher")
    def issue_voucher(self, request: VoucherRequest) -> VoucherResult:
        self.requests.append(request)
        voucher_id = self.issued.setdefault(request.claim_id, len(self.issued) + 1)
        return VoucherResult(voucher_id=voucher_id, tx_hash=f"0x{voucher_id:064x}", block_number=8)


def _worker(desk: Desk, ledger: VoucherLedger, max_cached_workflows: int) -> Worker:
    return new_worker(desk.client, desk.acts.record_ticket, desk.acts.find_repeat_complaint, desk.notifier.notify,
                      ledger.wait_for_anchor, ledger.issue_voucher, task_queue=desk.task_queue,
                      max_cached_workflows=max_cached_workflows)


@pytest.mark.parametrize("restarts", [False, True], ids=["one worker", "a new uncached worker each step"])
async def test_breach_resolve_reopen_resolve_again_acts_once_per_clock(desk: Desk, restarts: bool) -> None:
    ledger = VoucherLedger()
    ticket = ticket_input(compensate=True)  # P3: respond within 30 min, resolve within 48 h
    handles: list[WorkflowHandle[TicketWorkflow, TicketView]] = []
    views: list[TicketView] = []

    async def missed_first_response() -> None:
        handles.append(await desk.start(ticket))
        await desk.sleep(31 * 60)

    async def missed_resolution_then_resolved() -> None:
        await handles[0].execute_update(TicketWorkflow.respond, RespondInput())
        await desk.sleep(49 * H)
        await handles[0].execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))

    async def reopened() -> None:
        await desk.sleep(2 * H)
        await handles[0].execute_update(TicketWorkflow.reopen, ActorInput(reason="leaks again"))
        await desk.sleep(3 * H)  # both clocks long past their targets

    async def resolved_again_reopened_again_resolved() -> None:
        await handles[0].execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
        await desk.sleep(H)
        await handles[0].execute_update(TicketWorkflow.reopen, ActorInput(reason="and again"))
        await desk.sleep(H)
        await handles[0].execute_update(TicketWorkflow.resolve, ResolveInput("replaced", "parts"))
        await desk.sleep(2 * H)
        views.append(await desk.state(handles[0]))

    steps = [missed_first_response, missed_resolution_then_resolved, reopened, resolved_again_reopened_again_resolved]
    if restarts:
        for run_step in steps:
            async with _worker(desk, ledger, max_cached_workflows=0):
                await run_step()
    else:
        async with _worker(desk, ledger, max_cached_workflows=1000):
            for run_step in steps:
                await run_step()
    view = views[0]

    kinds = [m.kind for m in view.milestones]
    assert kinds.count("reopened") == 2 and kinds.count("resolved") == 3
    breaches = Counter(m.data["clock"] for m in view.milestones if m.kind == "sla_breach")
    assert breaches == Counter(CLOCKS), view.milestones
    assert view.breaches == list(CLOCKS)
    # One alert set per clock: two warnings and the breach, each once.
    assert Counter(alerts(desk, ticket.ticket_id)) == Counter(
        f"{kind}:{clock}:{level}" for clock in CLOCKS
        for kind, level in (("sla_warning", "75"), ("sla_warning", "90"), ("sla_breach", "")))
    # One voucher per clock: asked for once, issued once, recorded once.
    assert sorted(r.claim_id for r in ledger.requests) == [f"{ticket.ticket_id}:{c}" for c in CLOCKS]
    assert sorted(v.breach for v in view.vouchers) == list(CLOCKS)
    assert sorted(m.data["breach"] for m in view.milestones if m.kind == "voucher_issued") == list(CLOCKS)
    # The read model holds the same single record.
    with session_scope(desk.db_url) as s:
        rows = crud.milestones_of(session=s, subject=ticket.ticket_id)
        assert [r.kind for r in rows] == kinds
