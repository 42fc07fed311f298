"""Joint meetings (72-hour countdown, departments' analyses), suppliers against the exit line, points."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import RedirectResponse, Response

from api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep
from api.schemas.meetings import ID_PATTERN as MEETING_ID_PATTERN
from api.schemas.meetings import AnalysisBody, MeetingCreate
from api.schemas.suppliers import AppealBody, DecisionBody
from api.workflows import MEETINGS, SUPPLIERS
from console.auth import PREFIX, ConsoleUser, check_csrf, require
from console.forms import FormError, checked, one, read_form
from console.pages_tickets import zone_of
from console.render import render
from domain.governance import AnalysisInput, AppealDecisionInput, AppealInput, MeetingInput, meeting_policy
from domain.milestones import salted_hash
from domain.points import previous_month
from domain.policy import Policy
from readmodel import governance as gov
from readmodel import points
from readmodel.governance_models import Supplier
from workflows.joint_meeting import JointMeetingWorkflow
from workflows.supplier import SupplierWorkflow

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MeetingReader = Annotated[ConsoleUser, require("agent", "supervisor", "quality", "auditor", "team_head")]
Quality = Annotated[ConsoleUser, require("quality", "supervisor")]
SupplierReader = Annotated[ConsoleUser, require("supervisor", "quality", "auditor", "supplier_manager")]
PointsReader = Annotated[ConsoleUser, require("agent", "supervisor", "quality")]
MeetingId = Annotated[str, Path(pattern=MEETING_ID_PATTERN)]
SupplierId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _meetings_page(request: Request, user: ConsoleUser, session: Any, policy: Policy, *, problem: str = "",
                   status_code: int = 200) -> Response:
    rows, _ = gov.list_meetings(session=session, limit=100)
    return render(request, "meetings.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, meetings=rows, now=datetime.now(UTC), problem=problem,
                  can_open=user.may("quality", "supervisor"), departments=sorted(policy.departments.heads))


@router.get("/meetings")
def meetings_page(request: Request, user: MeetingReader, session: SessionDep, policy: PolicyDep) -> Response:
    return _meetings_page(request, user, session, policy)


@router.post("/meetings")
async def open_meeting(request: Request, user: Quality, session: SessionDep, settings: SettingsDep,
                       policy: PolicyDep, client: TemporalDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    linked = [t for t in re.split(r"[\s,]+", one(form, "linked_tickets")) if t]
    try:
        body = checked(MeetingCreate, {"title": one(form, "title"), "problem": one(form, "problem"),
                                       "category": one(form, "category"), "departments": form.get("departments", []),
                                       "linked_tickets": linked})
        meeting_id = "M-" + uuid.uuid4().hex[:20]
        meeting = MeetingInput(
            meeting_id=meeting_id, title=body.title, category=body.category, departments=list(body.departments),
            policy=meeting_policy(policy), linked_tickets=list(body.linked_tickets),
            problem_hash=salted_hash(settings.secret_key.get_secret_value().encode(), body.problem, "text"),
            opened_by=user.actor)
        await MEETINGS.start(client, meeting, meeting_id, settings.task_queue, f"meeting_id {meeting_id} already used")
    except HTTPException as exc:
        if exc.status_code not in (status.HTTP_409_CONFLICT, status.HTTP_422_UNPROCESSABLE_CONTENT) \
                and not isinstance(exc, FormError):
            raise
        return _meetings_page(request, user, session, policy, problem=str(exc.detail), status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/meetings/{meeting_id}", status_code=status.HTTP_303_SEE_OTHER)


async def _meeting_page(request: Request, user: ConsoleUser, meeting_id: str, client: Any, policy: Policy, *,
                        problem: str = "", status_code: int = 200) -> Response:
    view = await MEETINGS.state(client, meeting_id)
    return render(request, "meeting.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, view=view, now=datetime.now(UTC), problem=problem,
                  hours=f"{policy.joint_meeting.solution_due_hours:g}", can_submit=user.may("quality", "supervisor"))


@router.get("/meetings/{meeting_id}")
async def meeting_page(request: Request, meeting_id: MeetingId, user: MeetingReader, client: TemporalDep,
                       policy: PolicyDep) -> Response:
    return await _meeting_page(request, user, meeting_id, client, policy)


@router.post("/meetings/{meeting_id}/analyses")
async def submit_analysis(request: Request, meeting_id: MeetingId, user: Quality, client: TemporalDep,
                          settings: SettingsDep, policy: PolicyDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    try:
        body = checked(AnalysisBody, {"department": one(form, "department"), "analysis": one(form, "analysis")})
        analysis_hash = salted_hash(settings.secret_key.get_secret_value().encode(), body.analysis, "text")
        await MEETINGS.update(client, meeting_id, JointMeetingWorkflow.submit_analysis,
                              AnalysisInput(body.department, analysis_hash, actor=user.actor))
    except HTTPException as exc:
        if exc.status_code not in (status.HTTP_409_CONFLICT, status.HTTP_422_UNPROCESSABLE_CONTENT) \
                and not isinstance(exc, FormError):
            raise
        return await _meeting_page(request, user, meeting_id, client, policy, problem=str(exc.detail),
                                   status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/meetings/{meeting_id}", status_code=status.HTTP_303_SEE_OTHER)


def share_of(supplier: Supplier) -> float:
    """Deductions as a percentage of the contract value."""
    if supplier.contract_value <= 0:
        return 0.0
    return float(Decimal(supplier.total) * 100 / Decimal(supplier.contract_value))


@router.get("/suppliers")
def suppliers_page(request: Request, user: SupplierReader, session: SessionDep, policy: PolicyDep) -> Response:
    rows, _ = gov.list_suppliers(session=session, limit=200, only=user.suppliers)
    return render(request, "suppliers.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  suppliers=rows, share=share_of, line=policy.supplier.exit_threshold_percent,
                  line_label=f"{policy.supplier.exit_threshold_percent:g}")


def _supplier_of(session: Any, user: ConsoleUser, supplier_id: str) -> Supplier:
    supplier = gov.get_supplier(session=session, supplier_id=supplier_id)
    # Outside a supplier manager's scope a supplier is "not found", as in the API (decision 010).
    if supplier is None or (user.suppliers is not None and supplier_id not in user.suppliers):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no supplier {supplier_id}")
    return supplier


@router.get("/suppliers/{supplier_id}")
def supplier_page(request: Request, supplier_id: SupplierId, user: SupplierReader, session: SessionDep,
                  policy: PolicyDep) -> Response:
    return _supplier_page(request, supplier_id, user, session, policy)


def _supplier_page(request: Request, supplier_id: str, user: ConsoleUser, session: Any, policy: Policy, *,
                   problem: str = "", status_code: int = 200) -> Response:
    supplier = _supplier_of(session, user, supplier_id)
    done = request.query_params.get("done", "")
    line = policy.supplier.exit_threshold_percent
    threshold = int(Decimal(supplier.contract_value) * Decimal(str(line)) / 100)
    share = share_of(supplier)
    return render(request, "supplier.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, problem=problem,
                  done=f"done_{done}" if done in ("appeal", "decision") else "", supplier=supplier,
                  deductions=gov.deductions_of(session=session, supplier_id=supplier_id),
                  share=share, line=line, line_label=f"{line:g}", threshold=threshold,
                  scale=max(line * 1.5, share, 1.0))


SupplierManager = Annotated[ConsoleUser, require("supplier_manager")]


@router.post("/suppliers/{supplier_id}/appeal")
async def file_appeal(request: Request, supplier_id: SupplierId, user: SupplierManager, session: SessionDep,
                      policy: PolicyDep, client: TemporalDep) -> Response:
    """The supplier manager appeals the exit notice (the workflow checks the appeal window)."""
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    _supplier_of(session, user, supplier_id)
    return await _supplier_update(request, user, supplier_id, session, policy, "appeal", lambda: SUPPLIERS.update(
        client, supplier_id, SupplierWorkflow.file_appeal,
        AppealInput(checked(AppealBody, {"reason": one(form, "reason")}).reason, user.actor)))


@router.post("/suppliers/{supplier_id}/decision")
async def decide_appeal(request: Request, supplier_id: SupplierId, user: Quality, session: SessionDep,
                        policy: PolicyDep, client: TemporalDep) -> Response:
    """The quality committee upholds the exit or grants the appeal."""
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    _supplier_of(session, user, supplier_id)
    decision = one(form, "decision")

    def send() -> Any:
        if decision not in ("upheld", "granted"):
            raise FormError(["decision"], "decision: upheld or granted")
        body = checked(DecisionBody, {"upheld": decision == "upheld", "reason": one(form, "reason")})
        return SUPPLIERS.update(client, supplier_id, SupplierWorkflow.decide_appeal,
                                AppealDecisionInput(body.upheld, body.reason, user.actor))

    return await _supplier_update(request, user, supplier_id, session, policy, "decision", send)


async def _supplier_update(request: Request, user: ConsoleUser, supplier_id: str, session: Any, policy: Policy,
                           action: str, send: Callable[[], Awaitable[Any]]) -> Response:
    try:
        await send()
    except HTTPException as exc:
        if exc.status_code not in (status.HTTP_409_CONFLICT, status.HTTP_422_UNPROCESSABLE_CONTENT) \
                and not isinstance(exc, FormError):
            raise
        return _supplier_page(request, supplier_id, user, session, policy, problem=str(exc.detail),
                              status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/suppliers/{supplier_id}?done={action}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/points")
def points_page(request: Request, user: PointsReader, session: SessionDep, policy: PolicyDep,
                month: Month | None = None) -> Response:
    """A closed month's points: an agent sees only their own, the quality department the ranking."""
    month = month or previous_month(datetime.now(UTC))
    closed = points.get_month(session=session, month=month) is not None
    own: dict[str, Any] | None = None
    ranking: list[Any] = []
    if closed and user.role == "agent":
        entries = points.agent_entries(session=session, month=month, agent=user.person_id)
        rank = points.agent_rank(session=session, month=month, agent=user.person_id)
        own = {"total": sum(e.points for e in entries), "rank": rank.rank if rank else None, "entries": entries}
    elif closed:
        ranking, _ = points.ranking(session=session, month=month, limit=200)
    return render(request, "points.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  month=month, closed=closed, own=own, ranking=ranking)
