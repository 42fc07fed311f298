"""TicketWorkflow on the real time-skipping test server: SLA clocks, warnings, breaches, lifecycle."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.business_calendar import CalendarSpec
from domain.tickets import (
    ActorInput,
    ConfirmInput,
    PriorityInput,
    ResolveInput,
    RespondInput,
)
from readmodel import crud
from readmodel.db import session_scope
from tests.helpers import ticket_input, ticket_policy
from tests.workflows.desk import Desk, H, alerts, clock, local_minute
from workflows.ticket import TicketWorkflow


async def test_first_response_breach_at_30_minutes_with_warnings_once(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input())
        await desk.sleep(29 * 60)
        view = await desk.state(h)
        assert view.breaches == []
        assert alerts(desk, view.ticket_id) == ["sla_warning:first_response:75",
                                                "sla_warning:first_response:90"]
        await desk.sleep(2 * 60)
        view = await desk.state(h)
        assert view.breaches == ["first_response"]
        assert clock(view, "first_response").outcome == "breached"
        # Long after: still one of each, and the read model agrees.
        await desk.sleep(5 * H)
        view = await desk.state(h)
    fr = [k for k in alerts(desk, view.ticket_id) if ":first_response:" in k]
    assert fr == ["sla_warning:first_response:75", "sla_warning:first_response:90", "sla_breach:first_response:"]
    breach = [m for m in view.milestones if m.kind == "sla_breach"]
    assert len(breach) == 1 and breach[0].data["clock"] == "first_response"
    opened = datetime.fromisoformat(view.created_at.replace("Z", "+00:00"))
    # Each SLA milestone is stamped at the instant its threshold was crossed, not when a worker
    # got round to it (so a late or restarted worker records the same evidence).
    stamps = {f"{m.kind}:{m.data.get('level', '')}": datetime.fromisoformat(m.at.replace("Z", "+00:00")) - opened
              for m in view.milestones
              if m.kind in ("sla_warning", "sla_breach") and m.data["clock"] == "first_response"}
    assert stamps == {"sla_warning:75": timedelta(minutes=22.5), "sla_warning:90": timedelta(minutes=27),
                      "sla_breach:": timedelta(minutes=30)}
    with session_scope(desk.db_url) as s:
        row = crud.get_ticket(session=s, ticket_id=view.ticket_id)
        assert row is not None and row.breached and row.first_response_outcome == "breached"
        assert [m.kind for m in crud.milestones_of(session=s, subject=view.ticket_id)] == \
            [m.kind for m in view.milestones]


async def test_resolution_breach_at_48_hours(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input())
        await desk.sleep(10 * 60)
        await h.execute_update(TicketWorkflow.respond, RespondInput(actor="agent"))
        await desk.sleep(48 * H - 10 * 60 - 60)
        assert (await desk.state(h)).breaches == []
        await desk.sleep(120)
        view = await desk.state(h)
    assert view.breaches == ["resolution"]
    assert clock(view, "first_response").outcome == "met"
    assert [k for k in alerts(desk, view.ticket_id) if "resolution" in k] == [
        "sla_warning:resolution:75", "sla_warning:resolution:90", "sla_breach:resolution:"]


async def test_pause_is_excluded_and_paused_to_resolved_counts_as_paused(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input())
        await h.execute_update(TicketWorkflow.respond, RespondInput(actor="agent"))
        await desk.sleep(10 * H)
        await h.execute_update(TicketWorkflow.wait_for_customer, ActorInput(reason="need photos"))
        await desk.sleep(30 * H)
        view = await desk.state(h)
        res = clock(view, "resolution")
        assert res.running is False
        assert res.elapsed_seconds == pytest.approx(10 * H, abs=5)
        assert res.paused_seconds == pytest.approx(30 * H, abs=5)
        await h.execute_update(TicketWorkflow.customer_replied, ActorInput())
        await desk.sleep(37 * H)  # 47 h of desk time in all: no breach despite 77 h on the wall
        assert (await desk.state(h)).breaches == []
        await h.execute_update(TicketWorkflow.wait_for_customer, ActorInput(reason="confirm fix"))
        await desk.sleep(20 * H)
        view = await h.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "hand-off", actor="agent"))
    res = clock(view, "resolution")
    assert view.status == "resolved" and view.breaches == []
    assert res.elapsed_seconds == pytest.approx(47 * H, abs=5)
    assert res.paused_seconds == pytest.approx(50 * H, abs=5)
    assert res.outcome == "met"


async def test_priority_change_during_pause_keeps_elapsed_and_paused(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input(priority="P3"))
        await h.execute_update(TicketWorkflow.respond, RespondInput())
        await desk.sleep(6 * H)
        await h.execute_update(TicketWorkflow.wait_for_customer, ActorInput())
        await desk.sleep(4 * H)
        view = await h.execute_update(TicketWorkflow.change_priority, PriorityInput("P1", reason="VIP"))
        res = clock(view, "resolution")
        assert res.target_seconds == 8 * H
        assert res.elapsed_seconds == pytest.approx(6 * H, abs=5)
        assert res.paused_seconds == pytest.approx(4 * H, abs=5)
        assert view.breaches == []
        await desk.sleep(20 * H)  # still paused: no breach while waiting on the customer
        assert (await desk.state(h)).breaches == []
        await h.execute_update(TicketWorkflow.customer_replied, ActorInput())
        await desk.sleep(2 * H + 60)
        view = await desk.state(h)
    assert view.breaches == ["resolution"]
    breach = next(m for m in view.milestones if m.kind == "sla_breach")
    assert breach.data["target_seconds"] == "28800"


async def test_reopen_inside_window_resumes_without_counting_the_gap(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input())
        await h.execute_update(TicketWorkflow.respond, RespondInput())
        await desk.sleep(20 * H)
        await h.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
        await desk.sleep(40 * H)  # inside both the 72 h auto-close and the 168 h reopen window
        view = await h.execute_update(TicketWorkflow.reopen, ActorInput(reason="leaks again"))
        assert view.status == "in_progress"
        assert clock(view, "resolution").elapsed_seconds == pytest.approx(20 * H, abs=5)
        await desk.sleep(27 * H)
        assert (await desk.state(h)).breaches == []
        await desk.sleep(H + 60)
        view = await desk.state(h)
    assert view.breaches == ["resolution"]


async def test_reopen_outside_window_is_rejected(desk: Desk) -> None:
    policy = ticket_policy(reopen_window_seconds=24 * H, auto_close_seconds=200 * H)
    async with desk.worker():
        h = await desk.start(ticket_input(policy=policy))
        await h.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
        await desk.sleep(25 * H)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(TicketWorkflow.reopen, ActorInput(reason="late"))
        assert "reopen window ended" in str(err.value.cause)
        view = await desk.state(h)
    assert view.status == "resolved"
    assert [m.kind for m in view.milestones].count("reopened") == 0


async def test_auto_close_then_workflow_ends_after_reopen_window(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input())
        await h.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
        await desk.sleep(72 * H + 60)
        view = await desk.state(h)
        assert view.status == "closed"
        assert view.milestones[-1].kind == "auto_closed"
        final = await h.result()
    assert final.status == "closed" and final.rating is None


async def test_confirm_with_rating_closes(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input())
        await h.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(TicketWorkflow.confirm, ConfirmInput(rating=6))
        assert "rating" in str(err.value.cause)
        await h.execute_update(TicketWorkflow.confirm, ConfirmInput(rating=5))
        final = await h.result()
    assert final.status == "closed" and final.rating == 5
    kinds = [m.kind for m in final.milestones]
    assert kinds == ["opened", "resolved", "confirmed"]


async def test_cancel_and_invalid_transitions_never_reach_history(desk: Desk) -> None:
    async with desk.worker():
        h = await desk.start(ticket_input())
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(TicketWorkflow.customer_replied, ActorInput())
        assert "not waiting on the customer" in str(err.value.cause)
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update(TicketWorkflow.cancel, ActorInput(reason="bored"))
        await h.execute_update(TicketWorkflow.cancel, ActorInput(reason="duplicate"))
        final = await h.result()
        history = await h.fetch_history()
    assert final.status == "cancelled"
    accepted = [e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert len(accepted) == 1  # the rejected updates left no trace
    await desk.sleep(2 * H)
    assert [a for a in desk.notifier.sent if a.subject_id == final.ticket_id] == []


async def test_business_calendar_friday_evening_holiday_lunch_and_time_zone(desk: Desk) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    now = (await desk.env.get_current_time()).astimezone(tz)
    # Next Friday 17:50 Shanghai time (the server runs on UTC).
    days = (4 - now.weekday()) % 7 or 7
    friday = (now + timedelta(days=days)).replace(hour=17, minute=50, second=0, microsecond=0)
    monday = (friday + timedelta(days=3)).date()
    calendar = CalendarSpec(
        timezone="Asia/Shanghai", always_open=False,
        hours={d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        holidays=[monday.isoformat()])
    await desk.sleep((friday - now).total_seconds())
    async with desk.worker():
        h = await desk.start(ticket_input(policy=ticket_policy(calendar=calendar)))
        view = await desk.state(h)
        # 10 minutes on Friday, Monday is a holiday, then 20 minutes on Tuesday morning.
        due = datetime.fromisoformat(clock(view, "first_response").deadline.replace("Z", "+00:00"))
        assert local_minute(due, tz) == datetime.combine(monday + timedelta(days=1), time(9, 20))
        await h.execute_update(TicketWorkflow.respond, RespondInput())
        view = await desk.state(h)
        # 48 business hours = 10 min on Friday + 6 days of 7.5 h (lunch excluded, Monday a holiday)
        # + 170 min: the Wednesday of the week after next, 11:50 local time.
        res_due = datetime.fromisoformat(clock(view, "resolution").deadline.replace("Z", "+00:00"))
        assert local_minute(res_due, tz) == datetime.combine(monday + timedelta(days=9), time(11, 50))
        await desk.sleep((res_due - friday).total_seconds() - 60)
        assert (await desk.state(h)).breaches == []
        await desk.sleep(120)
        assert (await desk.state(h)).breaches == ["resolution"]
