"""Exactly-once warnings and breaches across worker restarts, repeat complaints, history replay."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from domain.milestones import customer_match_hash, customer_ref_hash
from domain.tickets import ResolveInput, RespondInput
from readmodel.crud import get_ticket
from readmodel.db import session_scope
from tests.helpers import ticket_input
from tests.workflows.desk import Desk, H, alerts
from worker import SANDBOX, WORKFLOWS
from workflows.ticket import TicketWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def test_breach_actions_exactly_once_across_worker_restarts(desk: Desk) -> None:
    ticket = ticket_input()
    # No workflow cache: every task replays the whole history, as after a crash.
    async with desk.worker(max_cached_workflows=0):
        h = await desk.start(ticket)
        await desk.sleep(20 * 60)  # past the 75 % warning
    async with desk.worker(max_cached_workflows=0):
        await desk.sleep(8 * 60)  # past the 90 % warning
    async with desk.worker(max_cached_workflows=0):
        await desk.sleep(5 * 60)  # past the breach
        await h.execute_update(TicketWorkflow.respond, RespondInput())
    async with desk.worker(max_cached_workflows=0):
        await desk.sleep(50 * H)  # resolution breach too
        view = await desk.state(h)
    assert alerts(desk, ticket.ticket_id) == [
        "sla_warning:first_response:75", "sla_warning:first_response:90", "sla_breach:first_response:",
        "sla_warning:resolution:75", "sla_warning:resolution:90", "sla_breach:resolution:"]
    assert [m.kind for m in view.milestones].count("sla_breach") == 2
    assert view.breaches == ["first_response", "resolution"]


async def test_repeat_complaint_is_flagged_and_alerted(desk: Desk) -> None:
    async with desk.worker():
        first = await desk.start(ticket_input(customer="0xsame", category="billing"))
        await first.execute_update(TicketWorkflow.resolve, ResolveInput("refunded", "billing-error"))
        await desk.sleep(3 * 24 * H)
        second = await desk.start(ticket_input(customer="0xsame", category="billing"))
        other_category = await desk.start(ticket_input(customer="0xsame", category="delivery"))
        other_customer = await desk.start(ticket_input(customer="0xother", category="billing"))
        views = [await desk.state(h) for h in (second, other_category, other_customer)]
    assert views[0].repeat_of == first.id
    assert [m.kind for m in views[0].milestones][:2] == ["opened", "repeat_flagged"]
    assert views[1].repeat_of is None and views[2].repeat_of is None
    repeat_alerts = [a for a in desk.notifier.sent if a.kind == "repeat_flagged"]
    assert [a.subject_id for a in repeat_alerts] == [second.id]
    assert repeat_alerts[0].recipient == "after-sales-head"


async def test_public_customer_hash_is_per_ticket_and_repeats_are_still_found(desk: Desk) -> None:
    # What the API derives (api/routes/tickets.py): a per-ticket public hash, a server-side match key.
    secret, customer = b"operator-secret", "+86 138 0013 8000"
    ids = [f"T-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    inputs = [ticket_input(ticket_id, category="billing", customer=customer_ref_hash(secret, ticket_id, customer))
              for ticket_id in ids]
    for ticket in inputs:
        ticket.customer_match_hash = customer_match_hash(secret, customer)
    async with desk.worker():
        first = await desk.start(inputs[0])
        await desk.sleep(3600)
        second = await desk.start(inputs[1])
        await desk.sleep(60)  # the repeat check is an activity after the first task
        views = [await desk.state(h) for h in (first, second)]
    assert views[1].repeat_of == first.id
    public = [v.milestones[0].data["customer_ref_hash"] for v in views]
    assert public[0] != public[1]  # two tickets of one customer cannot be linked by their evidence
    match_key = customer_match_hash(secret, customer)
    for view in views:
        assert match_key not in json.dumps([m.data for m in view.milestones])
    with session_scope(desk.db_url) as session:
        rows = [get_ticket(session=session, ticket_id=t) for t in ids]
        assert [row.customer_ref_hash if row else None for row in rows] == [match_key, match_key]  # server only


async def test_recorded_histories_replay_without_nondeterminism() -> None:
    """Histories recorded from earlier versions of TicketWorkflow must replay on this code."""
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no recorded histories: run tests/workflows/record_histories.py"
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=SANDBOX)
    for path in files:
        history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
        await replayer.replay_workflow(history)


async def _until_asleep_on_its_timer(h: WorkflowHandle[Any, Any]) -> None:
    async with asyncio.timeout(30):  # the ticket must go to sleep on its SLA timer
        while True:
            events = [e async for e in h.fetch_history_events()]
            if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in events):
                return
            await asyncio.sleep(0.05)


async def test_a_command_delivered_twice_at_once_applies_once(live_desk: Desk) -> None:
    """A desk's retry and its original Update, both waiting while no worker runs, arrive together.

    Both pass their validator on the same state, so the handler must check again before it acts:
    found by the chaos run (bench/chaos.py) as two first responses on one ticket.
    """
    desk = live_desk
    async with desk.worker():
        h = await desk.start(ticket_input())
        # Stop the worker only once the ticket is idle (opened, recorded, repeat-checked, asleep on
        # its SLA timer): stopping it mid-activity cancels that activity, which is another test's
        # subject (test_cancel_at_startup.py), and the Updates below must find the same state each run.
        await _until_asleep_on_its_timer(h)
    original = asyncio.create_task(h.execute_update(TicketWorkflow.respond, RespondInput()))
    retry = asyncio.create_task(h.execute_update(TicketWorkflow.respond, RespondInput()))
    await asyncio.sleep(1)  # both are admitted by the server before a worker picks them up
    async with desk.worker():
        outcomes = await asyncio.gather(original, retry, return_exceptions=True)
        view = await desk.state(h)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1, outcomes
    assert isinstance(failures[0], WorkflowUpdateFailedError)
    assert "first response already given" in str(failures[0].cause)
    assert [m.kind for m in view.milestones].count("first_response") == 1
