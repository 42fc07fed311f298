"""Joint-meeting endpoints (quality department): start, analyses, solution, ticket links, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import PolicyDep, QualityDep, SessionDep, SettingsDep, StaffReaderDep, TemporalDep
from api.schemas import AUTH, BODY, NO_NUL, WORKFLOW, problems
from api.schemas.meetings import AnalysisBody, LinkBody, MeetingCreate, MeetingId, MeetingPage, MeetingRow, SolutionBody
from api.workflows import MEETINGS
from domain.governance import (
    AnalysisInput,
    LinkTicketInput,
    MeetingInput,
    MeetingView,
    SolutionAction,
    SolutionInput,
    meeting_policy,
)
from domain.milestones import format_time, salted_hash
from readmodel import governance as gov
from workflows.joint_meeting import JointMeetingWorkflow

router = APIRouter(prefix="/meetings", tags=["meetings"])

BODY_COMMAND = problems(*AUTH, *WORKFLOW, *BODY)




@router.post("", status_code=status.HTTP_201_CREATED, response_model=MeetingView,
             responses=problems(*AUTH, *BODY, 409, 503))
async def start_meeting(body: MeetingCreate, caller: QualityDep, settings: SettingsDep, policy: PolicyDep,
                        client: TemporalDep) -> MeetingView:
    """Start a joint meeting for a systemic problem; linked tickets are escalated into it."""
    meeting_id = body.meeting_id or "M-" + uuid.uuid4().hex[:20]
    secret = settings.secret_key.get_secret_value().encode()
    meeting = MeetingInput(
        meeting_id=meeting_id, title=body.title, category=body.category, departments=list(body.departments),
        policy=meeting_policy(policy), linked_tickets=list(body.linked_tickets),
        problem_hash=salted_hash(secret, body.problem, "text"), opened_by=caller.key_id)
    return await MEETINGS.start(client, meeting, meeting_id, settings.task_queue,
                                f"meeting_id {meeting_id} already used")


@router.get("", response_model=MeetingPage, responses=problems(*AUTH))
def list_meetings(session: SessionDep, caller: StaffReaderDep,
                  status_: Annotated[str | None, Query(alias="status", pattern="^(open|verifying|verified)$")] = None,
                  category: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
                  breached: bool | None = None,
                  ticket_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> MeetingPage:
    """List joint meetings from the read model, newest first."""
    rows, total = gov.list_meetings(session=session, status=status_, category=category, breached=breached,
                                    ticket_id=ticket_id, offset=offset, limit=limit)
    data = [MeetingRow(id=r.id, title=r.title, category=r.category, status=r.status, round=r.round,
                       opened_at=format_time(r.opened_at), due_at=r.due_at, breached=r.breached,
                       solved_at=r.solved_at, verify_at=r.verify_at) for r in rows]
    return MeetingPage(data=data, count=total, offset=offset, limit=limit)


@router.get("/{meeting_id}", response_model=MeetingView, responses=problems(*AUTH, 404, 503))
async def get_meeting(meeting_id: MeetingId, caller: StaffReaderDep, client: TemporalDep) -> MeetingView:
    """The full live state from the meeting's workflow."""
    view: MeetingView = await MEETINGS.state(client, meeting_id)
    return view


@router.post("/{meeting_id}/analyses", response_model=MeetingView, responses=BODY_COMMAND)
async def submit_analysis(meeting_id: MeetingId, body: AnalysisBody, caller: QualityDep, client: TemporalDep,
                          settings: SettingsDep) -> MeetingView:
    """A participating department submits its analysis (the text stays off chain)."""
    analysis_hash = salted_hash(settings.secret_key.get_secret_value().encode(), body.analysis, "text")
    return await MEETINGS.update(client, meeting_id, JointMeetingWorkflow.submit_analysis,
                         AnalysisInput(body.department, analysis_hash, actor=caller.key_id))


@router.post("/{meeting_id}/solution", response_model=MeetingView, responses=BODY_COMMAND)
async def submit_solution(meeting_id: MeetingId, body: SolutionBody, caller: QualityDep,
                          client: TemporalDep) -> MeetingView:
    """The quality committee lead submits the solution; the verification period starts."""
    actions = [SolutionAction(a.action, a.owner, a.due) for a in body.actions]
    return await MEETINGS.update(client, meeting_id, JointMeetingWorkflow.submit_solution,
                         SolutionInput(body.root_cause, actions, caller.key_id))


@router.post("/{meeting_id}/tickets", response_model=MeetingView, responses=BODY_COMMAND)
async def link_ticket(meeting_id: MeetingId, body: LinkBody, caller: QualityDep, client: TemporalDep) -> MeetingView:
    """Escalate one more ticket into the meeting."""
    return await MEETINGS.update(client, meeting_id, JointMeetingWorkflow.link_ticket,
                         LinkTicketInput(body.ticket_id, caller.key_id))
