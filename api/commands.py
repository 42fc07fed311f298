"""Commands that both the API's routes and the console send, written once: accepting or rejecting a
proposed joint meeting, recording a spot-check review, recording a team's roster (and reading the
staffing plan against it). The callers check roles (and a reviewer's
own task) themselves; a refusal here is an ``HTTPException`` (404, 409, 503) either answers as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session
from temporalio.client import Client

from api.schemas.staffing import MAX_RANGE_DAYS, PlanDayView, RosterEntry, RosterView
from api.workflows import MEETINGS, update_workflow
from domain.governance import MeetingInput, MeetingView, meeting_policy
from domain.milestones import salted_hash
from domain.policy import Policy
from domain.spot_check import Finding, FindingsInput, ReviewTask
from readmodel import analysis as store
from readmodel import staffing
from readmodel.analysis_models import MeetingProposal
from settings import Settings
from workflows.names import SPOT_CHECK_WORKFLOW
from workflows.spot_check import SpotCheckMonthWorkflow


def _proposed(session: Session, problem_key: str) -> MeetingProposal:
    row = store.get_proposal(session, problem_key)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no proposal {problem_key}")
    if row.status == "accepted":
        raise HTTPException(status.HTTP_409_CONFLICT, f"proposal {problem_key} was already accepted: meeting "
                                                      f"{row.meeting_id}")
    if row.status == "rejected":
        raise HTTPException(status.HTTP_409_CONFLICT, f"proposal {problem_key} was rejected by {row.rejected_by}")
    return row


async def accept_proposal(session: Session, settings: Settings, policy: Policy, client_of: Callable[[], Client],
                          problem_key: str, actor: str) -> MeetingView:
    """Starts the 72-hour joint meeting ``M-<problem key>`` with the problem's tickets linked.

    The meeting id is derived from the problem key, so a second acceptance (or a retry) cannot open a
    second meeting: it answers 409 naming the meeting. ``client_of`` is called after the checks, so an
    unknown proposal is a 404 even without Temporal.
    """
    row = _proposed(session, problem_key)
    meeting_id = "M-" + problem_key
    client = client_of()
    evidence = json.loads(row.evidence)
    statement = f"{row.title}\n{json.dumps(evidence, ensure_ascii=False, sort_keys=True)}"
    meeting = MeetingInput(
        meeting_id=meeting_id, title=row.title[:200], category=row.category, departments=json.loads(row.departments),
        policy=meeting_policy(policy), linked_tickets=json.loads(row.ticket_ids),
        problem_hash=salted_hash(settings.secret_key.get_secret_value().encode(), statement, "text"),
        opened_by=actor)
    try:
        view = await MEETINGS.start(client, meeting, meeting_id, settings.task_queue,
                                    f"meeting {meeting_id} for proposal {problem_key} already started")
    except HTTPException as exc:
        if exc.status_code == status.HTTP_409_CONFLICT:  # started before the row was marked: mark it now
            store.mark_accepted(session, problem_key, meeting_id=meeting_id, by=actor)
        raise
    store.mark_accepted(session, problem_key, meeting_id=meeting_id, by=actor)
    return view


def reject_proposal(session: Session, problem_key: str, actor: str, reason: str) -> MeetingProposal:
    """The committee turns the proposal down with a reason; no meeting starts (decision 020)."""
    _proposed(session, problem_key)
    row = store.mark_rejected(session, problem_key, by=actor, reason=reason)
    assert row is not None
    if row.status != "rejected":  # accepted in between
        raise HTTPException(status.HTTP_409_CONFLICT, f"proposal {problem_key} was already {row.status}")
    return row


async def record_findings(client: Client, month: str, ticket_id: str, reviewer: str,
                          findings: list[dict[str, Any]]) -> ReviewTask:
    """The review of a sampled ticket, sent to the month's workflow (409 if not in the sample, already
    reviewed, or off the policy's checklist: the workflow checks)."""
    cmd = FindingsInput(ticket_id=ticket_id, reviewer=reviewer, findings=[
        Finding(f["deviation"], f["step"], f["severity"], bool(f["abnormal_feedback"])) for f in findings])
    task: ReviewTask = await update_workflow(client.get_workflow_handle(f"spot-check-{month}"), SPOT_CHECK_WORKFLOW,
                                             "spot check", SpotCheckMonthWorkflow.record_findings, cmd)
    return task


def invalid(where: str, name: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's own shape, naming the field."""
    return RequestValidationError([{"loc": [where, name], "msg": message, "type": "value_error"}])


def staffing_teams(policy: Policy) -> list[str]:
    """The teams a roster is kept for: the policy's departments and the teams with their own handle time."""
    return sorted(set(policy.departments.heads) | (set(policy.staffing.handle_minutes) - {"default"}))


def known_team(policy: Policy, team: str, where: str) -> None:
    teams = staffing_teams(policy)
    if team not in teams:
        raise invalid(where, "team", f"unknown team {team!r}; the policy's teams are {teams}")


def record_roster(session: Session, team: str, entries: Sequence[RosterEntry], by: str) -> RosterView:
    """Records the agents rostered per day (a day sent again is replaced); the caller checked the team
    and the role. Each day at most once, within ``MAX_RANGE_DAYS``: else a 422 naming ``day``."""
    days = [e.day for e in entries]
    if not days:
        raise invalid("body", "agents", "enter the agents of at least one day")
    if len(set(days)) != len(days):
        raise invalid("body", "day", "each day at most once per request")
    if (max(days) - min(days)).days >= MAX_RANGE_DAYS:
        raise invalid("body", "day", f"the days span at most {MAX_RANGE_DAYS} days")
    created = staffing.put_roster(session, team=team, days=[(e.day, e.agents) for e in entries], by=by)
    rows = staffing.roster(session, first=min(days), last=max(days), team=team)
    return RosterView(team=team, created=created, data=[RosterEntry(day=r.day, agents=r.agents) for r in rows])


def plan_days(session: Session, run_key: str, *, team: str | None = None, first: date | None = None,
              last: date | None = None) -> list[PlanDayView]:
    """The run's plan per day and team against the roster on record: a day without a roster is not short."""
    rows = staffing.plan_days(session, run_key=run_key, team=team, first=first, last=last)
    roster = staffing.roster_map(session, first=rows[0].day, last=rows[-1].day) if rows else {}
    data = []
    for r in rows:
        have = roster.get((r.day, r.team))
        data.append(PlanDayView(day=r.day, team=r.team, forecast_volume=r.volume, agents_needed=r.agents_needed,
                                rostered=have, short_by=max(0, r.agents_needed - have) if have is not None else 0))
    return data
