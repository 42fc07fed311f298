"""Commands that both the API's routes and the console send, written once: accepting or rejecting a
proposed joint meeting, and recording a spot-check review. The callers check roles (and a reviewer's
own task) themselves; a refusal here is an ``HTTPException`` (404, 409, 503) either answers as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, status
from sqlmodel import Session
from temporalio.client import Client

from api.workflows import MEETINGS, update_workflow
from domain.governance import MeetingInput, MeetingView, meeting_policy
from domain.milestones import salted_hash
from domain.policy import Policy
from domain.spot_check import Finding, FindingsInput, ReviewTask
from readmodel import analysis as store
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
