"""JointMeetingWorkflow on the time-skipping test server: 72-hour solution, reminders, breach, verification."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Replayer

from domain.governance import AnalysisInput, LinkTicketInput, MeetingView, SolutionAction, SolutionInput
from domain.milestones import verify_chain
from readmodel import crud
from readmodel import governance as gov
from tests.governance.board import DAY, Board, H
from worker import SANDBOX
from workflows.joint_meeting import JointMeetingWorkflow

SOLUTION = SolutionInput(root_cause="handoff_gap",
                         actions=[SolutionAction("shared hand-off checklist", "logistics-head", "2026-12-15")],
                         actor="quality#2")


def kinds(view: MeetingView, kind: str) -> list[dict[str, str]]:
    return [m.data for m in view.milestones if m.kind == kind]


def chain_ok(board: Board, subject: str, view: MeetingView) -> None:
    with board.session() as s:
        rows = crud.milestones_of(session=s, subject=subject)
    links = [{"seq": r.seq, "kind": r.kind, "at": r.at, "prev": r.prev, "leaf": r.leaf,
              "data": json.loads(r.data)} for r in rows]
    assert verify_chain(subject, links) == []
    assert [r.leaf for r in rows] == [m.leaf for m in view.milestones]


async def test_solution_at_71_hours_no_breach_reminders_only_to_missing_departments(board: Board) -> None:
    async with board.worker():
        h = await board.start_meeting(linked=["T-linked-1", "T-linked-2"])
        mid = h.id
        await board.sleep(1 * H)
        await h.execute_update(JointMeetingWorkflow.submit_analysis,
                               AnalysisInput("after-sales", "0xa1", actor="after-sales#1"))
        await board.sleep(29 * H)  # 30 h: the 24 h reminders went to logistics and billing
        await h.execute_update(JointMeetingWorkflow.submit_analysis, AnalysisInput("logistics", "0xa2"))
        await board.sleep(41 * H)  # 71 h
        view = await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
        assert view.status == "verifying"
        await board.sleep(5 * H)  # past 72 h: no breach once solved
        view = await h.query(JointMeetingWorkflow.state)
    assert view.breached_rounds == [] and kinds(view, "meeting_breach") == []
    assert view.reminders == ["logistics@24h#1", "billing@24h#1", "billing@48h#1"]
    assert [(k, r) for k, r in board.alerts(mid)] == [
        ("meeting_reminder", "logistics-head"), ("meeting_reminder", "billing-head"),
        ("meeting_reminder", "billing-head")]
    # Linked tickets: each linked at the start and sent the solution (in the meeting's chain).
    assert [d["ticket_id"] for d in kinds(view, "ticket_linked")] == ["T-linked-1", "T-linked-2"]
    solution_leaf = next(m.leaf for m in view.milestones if m.kind == "solution_submitted")
    sent = kinds(view, "solution_sent_to_ticket")
    assert [d["ticket_id"] for d in sent] == ["T-linked-1", "T-linked-2"]
    assert all(d["solution_leaf"] == solution_leaf for d in sent)
    assert kinds(view, "solution_submitted")[0]["late"] == "false"
    chain_ok(board, mid, view)
    with board.session() as s:
        row = gov.get_meeting(session=s, meeting_id=mid)
        assert row is not None and row.status == "verifying" and not row.breached
        assert gov.linked_tickets(session=s, meeting_id=mid) == ["T-linked-1", "T-linked-2"]
        assert gov.list_meetings(session=s, ticket_id="T-linked-2")[1] >= 1


async def test_no_solution_at_72_hours_one_breach_one_alert_and_stays_open(board: Board) -> None:
    async with board.worker():
        h = await board.start_meeting()
        mid = h.id
        await h.execute_update(JointMeetingWorkflow.submit_analysis, AnalysisInput("billing", "0xb"))
        await board.sleep(72 * H - 60)
        assert (await h.query(JointMeetingWorkflow.state)).breached_rounds == []
        await board.sleep(120)
        view = await h.query(JointMeetingWorkflow.state)
        assert view.breached_rounds == [1] and view.status == "open"
        await board.sleep(3 * DAY)  # long after: still one breach, still open
        view = await h.query(JointMeetingWorkflow.state)
        assert view.status == "open" and len(kinds(view, "meeting_breach")) == 1
        late = await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
    assert late.status == "verifying" and kinds(late, "solution_submitted")[0]["late"] == "true"
    breach_alerts = [a for a in board.alerts(mid) if a[0] == "meeting_breach"]
    assert breach_alerts == [("meeting_breach", "quality-committee-head")]
    assert sorted(view.reminders) == sorted(["after-sales@24h#1", "logistics@24h#1",
                                             "after-sales@48h#1", "logistics@48h#1"])
    assert kinds(view, "meeting_breach")[0]["missing"] == "after-sales,logistics"
    with board.session() as s:
        row = gov.get_meeting(session=s, meeting_id=mid)
        assert row is not None and row.breached
        assert gov.list_meetings(session=s, breached=True)[1] == 1


async def test_invalid_transitions_are_rejected(board: Board) -> None:
    async with board.worker():
        h = await board.start_meeting()
        for cmd, text in [(AnalysisInput("marketing", "0x1"), "not a participant"),
                          (AnalysisInput("billing", " "), "must not be empty")]:
            with pytest.raises(WorkflowUpdateFailedError) as err:
                await h.execute_update(JointMeetingWorkflow.submit_analysis, cmd)
            assert text in str(err.value.cause)
        await h.execute_update(JointMeetingWorkflow.submit_analysis, AnalysisInput("billing", "0x1"))
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(JointMeetingWorkflow.submit_analysis, AnalysisInput("billing", "0x2"))
        assert "already submitted" in str(err.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(JointMeetingWorkflow.submit_solution, SolutionInput("x", []))
        assert "actions" in str(err.value.cause)
        await h.execute_update(JointMeetingWorkflow.link_ticket, LinkTicketInput("T-late"))
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update(JointMeetingWorkflow.link_ticket, LinkTicketInput("T-late"))
        await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
        assert "verifying" in str(err.value.cause)
        view = await h.query(JointMeetingWorkflow.state)
    assert [d["ticket_id"] for d in kinds(view, "solution_sent_to_ticket")] == ["T-late"]


async def test_verification_ends_verified_when_rates_fall(board: Board) -> None:
    async with board.worker():
        h = await board.start_meeting()
        start = await board.now()
        # Before the solution: 4 tickets of the category, 2 repeat complaints.
        for i in range(4):
            board.add_ticket(created_at=start - timedelta(days=10 - i), repeat_of="T-0" if i % 2 else None)
        await board.sleep(10 * H)
        await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
        board.add_ticket(created_at=start + timedelta(days=5))  # after: 1 ticket, no repeat
        await board.sleep(30 * DAY + H)
        view = await h.query(JointMeetingWorkflow.state)
        result = await h.result()
        history = await h.fetch_history()
    # The recorded history replays without nondeterminism against the current code.
    await Replayer(workflows=[JointMeetingWorkflow], workflow_runner=SANDBOX).replay_workflow(history)
    assert view.status == "verified" and result.status == "verified"
    assert view.effect is not None and view.effect.before_tickets == 4 and view.effect.after_tickets == 1
    verified = kinds(view, "meeting_verified")[0]
    assert verified["before_repeat_rate"] == "0.5000" and verified["after_repeat_rate"] == "0.0000"
    chain_ok(board, h.id, view)


async def test_verification_reopens_with_the_figures_as_reason(board: Board) -> None:
    async with board.worker():
        h = await board.start_meeting()
        start = await board.now()
        board.add_ticket(created_at=start - timedelta(days=3))  # before: 1 ticket, no repeat
        await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
        board.add_ticket(created_at=start + timedelta(days=2), repeat_of="T-x")  # after: worse
        board.add_ticket(created_at=start + timedelta(days=4))
        await board.sleep(30 * DAY + H)
        view = await h.query(JointMeetingWorkflow.state)
        assert view.status == "open" and view.round == 2
        reopened = kinds(view, "meeting_reopened")[0]
        assert reopened["after_repeat_rate"] == "0.5000" and "repeat rate 0.0000 -> 0.5000" in reopened["reason"]
        assert view.reopen_reasons == [reopened["reason"]]
        assert ("meeting_reopened", "quality-committee-head") in board.alerts(h.id)
        # Round 2 has its own deadline: a new analysis is accepted and the clock restarts.
        await h.execute_update(JointMeetingWorkflow.submit_analysis, AnalysisInput("after-sales", "0xr2"))
        await board.sleep(73 * H)
        view = await h.query(JointMeetingWorkflow.state)
    assert view.breached_rounds == [2]
