"""Rule 15 on the time-skipping server: the quarterly round invites the panel, reminds who has not
reviewed (durable timers), collects reviews and ends with the meeting record; an observer's
suggestion becomes a ticket with its own, shorter target, and its breach fires once."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import ScheduleActionStartWorkflow, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.feedback import FeedbackActivities
from activities.observers import ObserverActivities
from activities.tickets import TicketActivities
from domain.feedback import FeedbackInput
from domain.observers import ReviewInput, RoundInput, RoundPolicy
from readmodel import observers
from readmodel.db import init_db, session_scope
from readmodel.feedback_models import Observer
from services.feedback import Submission, store_submission
from settings import Settings
from tests.helpers import POLICY, RecordingNotifier, new_worker, tmp_db_url
from tests.own_env import own_env  # noqa: F401 - a time-skipping server per test
from workflows.feedback import FeedbackTriageWorkflow
from workflows.observers import ObserverRoundWorkflow, observer_schedule
from workflows.ticket import TicketWorkflow


def _settings(tmp: Path, task_queue: str) -> Settings:
    url = tmp_db_url(tmp)
    init_db(url)
    return Settings(database_url=url, task_queue=task_queue, compensation_enabled=False,
                    temporal_search_attributes=False)


def _enroll(settings: Settings, *ids: str, cap: int = 100) -> None:
    now = datetime.now(UTC)
    with session_scope(settings.db_url) as session:
        for ident in ids:
            observers.enroll(session=session, cap=cap, observer=Observer(
                id=ident, customer_key=f"key-{ident}", name=ident, enrolled_at=now,
                term_ends_at=now + timedelta(days=POLICY.observers.term_days)))


def test_the_round_runs_on_a_quarterly_schedule() -> None:
    schedule = observer_schedule("q")
    calendar = schedule.spec.calendars[0]
    assert [r.start for r in calendar.month] == [1, 4, 7, 10] and [r.start for r in calendar.day_of_month] == [1]
    assert isinstance(schedule.action, ScheduleActionStartWorkflow)
    assert schedule.action.workflow == "ObserverKickoffWorkflow"


def test_the_panel_has_a_cap(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "q")
    _enroll(settings, "obs-a", "obs-b", cap=2)
    with pytest.raises(observers.PanelFull, match="max_active 2"):
        _enroll(settings, "obs-c", cap=2)
    _enroll(settings, "obs-a", cap=2)  # renewing a member's term is not a new seat


async def test_quarterly_round_invites_reminds_collects_and_meets(own_env: WorkflowEnvironment,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    queue = str(uuid.uuid4())
    settings = _settings(tmp_path, queue)
    _enroll(settings, "obs-1", "obs-2", "obs-3")
    acts, notifier = ObserverActivities(settings), RecordingNotifier()
    async with new_worker(own_env.client, acts.start_observer_round, acts.record_observer_review,
                          acts.record_observer_round, notifier.notify, task_queue=queue):
        handle = await own_env.client.start_workflow(
            ObserverRoundWorkflow.run, RoundInput("2026-Q3", RoundPolicy(14, [7, 12], 21, "quality-committee")),
            id=f"observer-round-{uuid.uuid4()}", task_queue=queue)
        while not (await handle.query(ObserverRoundWorkflow.state)).invited:
            await own_env.sleep(timedelta(seconds=1))
        await handle.execute_update(ObserverRoundWorkflow.submit_review, ReviewInput("obs-1", "installation", 4, "ok"))
        await handle.execute_update(ObserverRoundWorkflow.submit_review, ReviewInput("obs-1", "complaints", 2))
        view = await handle.execute_update(ObserverRoundWorkflow.submit_review, ReviewInput("obs-2", "installation", 5))
        assert view.reviewed == {"obs-1": ["installation", "complaints"], "obs-2": ["installation"]}
        for bad, why in ((ReviewInput("obs-9", "installation", 3), "not invited"),
                         (ReviewInput("obs-2", "installation", 3), "already reviewed"),
                         (ReviewInput("obs-3", "installation", 9), "score must be")):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ObserverRoundWorkflow.submit_review, bad)
            assert why in str(refused.value.cause)
        meeting = json.loads(await handle.result())  # the server skips the 21 days of timers
    kinds = Counter((a.kind, a.recipient) for a in notifier.sent)
    assert kinds == {("observer_invitation", "obs-1"): 1, ("observer_invitation", "obs-2"): 1,
                     ("observer_invitation", "obs-3"): 1, ("observer_reminder", "obs-3"): 2,
                     ("observer_meeting", "quality-committee"): 1}
    assert (meeting["took_part"], meeting["absent"], meeting["invited"]) == (["obs-1", "obs-2"], ["obs-3"], 3)
    assert meeting["processes"] == {"complaints": {"average_score": 2.0, "reviews": 1},
                                    "installation": {"average_score": 4.5, "reviews": 2}}
    with session_scope(settings.db_url) as session:
        row, reviews = observers.round_of(session=session, quarter="2026-Q3")
    assert row is not None and (row.status, row.reminders) == ("met", 2) and json.loads(row.meeting or "") == meeting
    assert [(r.observer_id, r.process, r.score) for r in reviews] == [
        ("obs-1", "installation", 4), ("obs-1", "complaints", 2), ("obs-2", "installation", 5)]


async def test_an_observer_suggestion_is_a_faster_ticket_whose_breach_fires_once(
        own_env: WorkflowEnvironment, tmp_path: Path) -> None:  # noqa: F811
    queue = str(uuid.uuid4())
    settings = _settings(tmp_path, queue)
    with session_scope(settings.db_url) as session:
        stored = store_submission(session, settings, POLICY.feedback, Submission(
            channel="observer", text="建议：安装预约应当可以选择具体时段", contact="13700000001",
            submitted_by="observer", observer_id="obs-1"))
    feedback, tickets, notifier = FeedbackActivities(settings), TicketActivities(settings.db_url), RecordingNotifier()
    async with new_worker(own_env.client, feedback.triage_feedback, feedback.open_feedback_ticket,
                          feedback.attach_feedback, feedback.record_feedback_triage, tickets.record_ticket,
                          tickets.find_repeat_complaint, notifier.notify, task_queue=queue):
        decision = await own_env.client.execute_workflow(FeedbackTriageWorkflow.run, FeedbackInput(stored.ref),
                                                         id=f"feedback-{stored.ref}", task_queue=queue)
        assert (decision.outcome, decision.category, decision.priority, decision.team) == (
            "ticket", "observer_suggestion", "P2", "quality")
        ticket = own_env.client.get_workflow_handle_for(TicketWorkflow.run, decision.ticket_id)
        view = await ticket.query(TicketWorkflow.state)
        first = next(c for c in view.clocks if c.name == "first_response")
        assert first.target_seconds == 10 * 60  # [sla.categories.observer_suggestion.P2], not P2's 30 min
        await own_env.sleep(timedelta(minutes=11))
        await own_env.sleep(timedelta(hours=2))  # long after: nothing fires again
        now = (await own_env.get_current_time()).isoformat()
        view = await ticket.query(TicketWorkflow.state, now)
        breaches = [m for m in view.milestones if m.kind == "sla_breach"]
        assert [m.data["clock"] for m in breaches] == ["first_response"]
        alerts = [a for a in notifier.sent if a.kind == "sla_breach"]
        assert len(alerts) == 1 and alerts[0].recipient == POLICY.department_head("quality")
        if (await ticket.describe()).status == WorkflowExecutionStatus.RUNNING:
            await ticket.terminate("test over")
