"""Joint-meeting endpoints (quality department): start, analyses, solution, ticket links, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field, field_validator
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import PolicyDep, QualityDep, SessionDep, SettingsDep, StaffReaderDep, TemporalDep
from api.schemas import AUTH, BODY, NO_NUL, WORKFLOW, RequestBody, problems
from api.workflow_errors import WorkflowDoor
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
from workflows.names import MEETING_WORKFLOW

router = APIRouter(prefix="/meetings", tags=["meetings"])

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Ids are checked before they reach Temporal, which would refuse an odd one as a server error.
MeetingId = Annotated[str, Path(pattern=ID_PATTERN, description="meeting id")]


class MeetingCreate(RequestBody):
    meeting_id: str | None = Field(None, pattern=ID_PATTERN, description="client-chosen id (idempotency)")
    title: str = Field(min_length=1, max_length=200)
    problem: str = Field(min_length=1, max_length=5000, description="problem statement (kept off chain)")
    category: str = Field(pattern=CODE_PATTERN, description="ticket category whose rates verify the solution")
    departments: list[Annotated[str, Field(pattern=CODE_PATTERN)]] = Field(min_length=1, max_length=20)
    linked_tickets: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(default_factory=list, max_length=100,
                                                                           description="escalated tickets")

    @field_validator("departments", "linked_tickets")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("entries must be unique")
        return values


class AnalysisBody(RequestBody):
    department: str = Field(pattern=CODE_PATTERN)
    analysis: str = Field(min_length=1, max_length=10_000)


class ActionBody(RequestBody):
    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=128)
    due: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}", max_length=40, description="ISO date")


class SolutionBody(RequestBody):
    root_cause: str = Field(min_length=1, max_length=200)
    actions: list[ActionBody] = Field(min_length=1, max_length=50)


class LinkBody(RequestBody):
    ticket_id: str = Field(pattern=ID_PATTERN)


class MeetingRow(BaseModel):
    id: str
    title: str
    category: str
    status: str
    round: int
    opened_at: str
    due_at: str
    breached: bool
    solved_at: str | None
    verify_at: str | None


class MeetingPage(BaseModel):
    data: list[MeetingRow]
    count: int
    offset: int
    limit: int


BODY_COMMAND = problems(*AUTH, *WORKFLOW, *BODY)


MEETINGS: WorkflowDoor[MeetingView] = WorkflowDoor(JointMeetingWorkflow.run, JointMeetingWorkflow.state,
                                                  MEETING_WORKFLOW, "meeting")


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
    try:
        handle = await client.start_workflow(
            JointMeetingWorkflow.run, meeting, id=meeting_id, task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
    except WorkflowAlreadyStartedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"meeting_id {meeting_id} already used") from exc
    view: MeetingView = await handle.query(JointMeetingWorkflow.state)
    return view


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
