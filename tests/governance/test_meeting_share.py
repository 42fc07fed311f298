"""Rule 20's loop closes on numbers: a meeting opened from an accepted proposal is verified on the
problem's own share of failures, the measure the proposal was made on (time-skipping server of its own,
the real API on the test's loop).

Both cases keep the category's repeat and reopen rates at zero after the solution, so those rates
alone would verify the meeting: only the problem's share decides.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.governance import GovernanceActivities
from readmodel import analysis as store
from readmodel.analysis_models import TicketFacts
from readmodel.db import get_engine
from readmodel.governance import init_governance_db
from readmodel.models import Ticket
from settings import Settings
from tests.analysis.test_proposals import api_on_this_loop
from tests.helpers import RecordingNotifier, new_worker, tmp_db_url
from workflows.joint_meeting import JointMeetingWorkflow

QUALITY = {"X-API-Key": "k-quality"}
DEPARTMENTS = ["after-sales", "logistics"]
STEP, CAUSE, CATEGORY = "follow_up", "handoff_gap", "delivery"


@dataclass
class Desk:
    env: WorkflowEnvironment
    db_url: str
    api: httpx.AsyncClient
    notifier: RecordingNotifier
    start: datetime
    meetings: list[str]

    def plant(self, day: float, *, problem: bool, n: int = 1, repeat_of: str | None = None,
              failed: bool = True) -> None:
        """``n`` resolved tickets ``day`` days from the test's start; failed ones breached, at a step."""
        with Session(get_engine(self.db_url)) as s:
            for i in range(n):
                tid = f"T-{uuid.uuid4().hex[:10]}"
                at = self.start + timedelta(days=day, minutes=i)
                team = DEPARTMENTS[i % 2] if problem else "billing"
                s.add(Ticket(id=tid, status="resolved", priority="P2", category=CATEGORY if problem else "billing",
                             team=team, channel="app", customer_ref_hash="0xc", summary="s", description="d",
                             created_at=at, updated_at=at, breached=failed, repeat_of=repeat_of,
                             root_cause=CAUSE if problem else "wrong_amount"))
                s.add(TicketFacts(ticket_id=tid, step=STEP if problem else "billing_check"))
            s.commit()


@pytest.fixture
async def desk(own_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    db_url = tmp_db_url(tmp_path)
    init_governance_db(db_url)
    queue = f"share-{uuid.uuid4()}"
    notifier = RecordingNotifier()
    worker = new_worker(own_env.client, *GovernanceActivities(db_url).all(), notifier.notify, task_queue=queue,
                        workflows=[JointMeetingWorkflow])
    settings = Settings(database_url=db_url, task_queue=queue,  # type: ignore[call-arg]
                        api_keys="k-quality:quality")  # type: ignore[arg-type]
    start = (await own_env.get_current_time()).astimezone(UTC)
    async with worker, api_on_this_loop(settings, own_env) as api:
        desk = Desk(own_env, db_url, api, notifier, start, [])
        yield desk
        for mid in desk.meetings:  # a meeting left running would hold the server's time skipping
            handle = own_env.client.get_workflow_handle(mid)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")


def propose(desk: Desk) -> str:
    """The analysis's proposal as the daily run stores it: 40 % of the failures when it was made."""
    key = f"P-{uuid.uuid4().hex[:16]}"
    with Session(get_engine(desk.db_url)) as s:
        added = store.propose(s, [{
            "problem_key": key, "title": "parcel hand-off (follow_up, handoff_gap)", "departments": DEPARTMENTS,
            "category": CATEGORY, "step": STEP, "root_cause": CAUSE, "reasons": ["spans 2 departments"],
            "clusters": ["en-0"], "share_of_failures": 40.0, "tickets": 4, "ticket_ids": ["T-linked-1"]}],
            run_key="2026-11-30")
    assert added == [key]
    return key


async def run_meeting(desk: Desk, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Accept over HTTP, give the solution at once, let the 30-day verification pass; the meeting's view."""
    accepted = await desk.api.post(f"/analysis/proposals/{key}/accept", headers=QUALITY)
    assert accepted.status_code == 201, accepted.text
    mid = accepted.json()["meeting_id"]
    desk.meetings.append(mid)
    assert mid == f"M-{key}" and accepted.json()["linked_tickets"] == ["T-linked-1"]
    solved = await desk.api.post(f"/meetings/{mid}/solution", headers=QUALITY, json={
        "root_cause": "no hand-off checklist",
        "actions": [{"action": "shared hand-off checklist", "owner": "logistics-head", "due": "2026-12-15"}]})
    assert solved.status_code == 200, solved.text
    await desk.env.sleep(timedelta(days=30, hours=2))
    view = (await desk.api.get(f"/meetings/{mid}", headers=QUALITY)).json()
    return view, [m for m in view["milestones"] if m["kind"] in ("meeting_verified", "meeting_reopened")]


async def test_the_problems_share_falls_and_the_meeting_is_verified_on_it(desk: Desk) -> None:
    key = propose(desk)
    # 30 days before the solution: 10 failures, 4 of them the problem's (40 %), one repeat complaint.
    desk.plant(-20, problem=True, n=4)
    desk.plant(-15, problem=False, n=6)
    desk.plant(-10, problem=True, n=1, repeat_of="T-0", failed=False)  # a repeat: itself a failure
    # The 30 days after: 10 failures, 1 of the problem's (10 %), no repeat, no reopen.
    desk.plant(3, problem=True, n=1)
    desk.plant(5, problem=False, n=9)
    view, decided = await run_meeting(desk, key)
    assert view["status"] == "verified", view
    effect = view["effect"]
    assert (effect["problem_key"], effect["before_share"], effect["after_share"]) == (key, 45.45, 10.0)
    assert (effect["before_problem_tickets"], effect["after_problem_tickets"]) == (5, 1)
    assert (effect["before_failures"], effect["after_failures"]) == (11, 10)
    [verified] = decided
    assert verified["kind"] == "meeting_verified"
    assert (verified["data"]["before_share"], verified["data"]["after_share"]) == ("45.45", "10.00")
    assert (verified["data"]["before_problem_tickets"], verified["data"]["after_problem_tickets"]) == ("5", "1")
    assert verified["data"]["problem_key"] == key


async def test_the_problems_share_does_not_fall_and_the_meeting_reopens_naming_it(desk: Desk) -> None:
    key = propose(desk)
    desk.plant(-20, problem=True, n=2)  # before: 2 of 10 failures (20 %)
    desk.plant(-15, problem=False, n=8)
    desk.plant(4, problem=True, n=3)  # after: 3 of 6 failures (50 %); the category's rates stay at zero
    desk.plant(6, problem=False, n=3)
    view, decided = await run_meeting(desk, key)
    assert view["status"] == "open" and view["round"] == 2, view
    assert view["effect"]["before_repeat_rate"] == 0 and view["effect"]["after_repeat_rate"] == 0
    assert (view["effect"]["before_share"], view["effect"]["after_share"]) == (20.0, 50.0)
    [reopened] = decided
    assert reopened["kind"] == "meeting_reopened"
    reason = reopened["data"]["reason"]
    assert "share of failures 20.00% -> 50.00% (2 -> 3 tickets)" in reason
    assert view["reopen_reasons"] == [reason]
    assert (reopened["data"]["before_share"], reopened["data"]["after_share"]) == ("20.00", "50.00")
    assert any(a.kind == "meeting_reopened" and "share of failures 20.00% -> 50.00%" in a.message
               for a in desk.notifier.sent)
