"""Supervision pages: the spot-check review queue with the reviewer's checklist and the review form
(findings recorded through the API's own command, ``api/commands.py:record_findings``), the quality veto by
team, the compensation vouchers issued and redeemed, the mystery shopper's entry form (filed
through the same service and checks as ``POST /evaluations``) and the case library's search."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api import commands
from api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep
from api.routes.cases import INDEX, MAX_QUERY_CHARS
from api.routes.evaluations import _check as check_evaluation
from api.schemas import ID_PATTERN
from api.schemas.evaluations import EvaluationBody
from api.schemas.spot_checks import FindingBody
from console.auth import PREFIX, ConsoleUser, check_csrf, require
from console.forms import FormError, checked, one, read_form
from console.pages_tickets import zone_of
from console.render import render, zone
from domain.json_limits import has_lone_surrogate
from domain.points import previous_month
from domain.policy import Policy
from readmodel import spot_check, veto, vouchers
from readmodel.spot_check_models import SpotCheckTask
from services.evaluations import EvaluationConflict, file_evaluation
from settings import Settings

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Reviewer = Annotated[ConsoleUser, require("reviewer", "quality", "supervisor")]
VetoReader = Annotated[ConsoleUser, require("quality", "supervisor", "auditor")]
VoucherReader = Annotated[ConsoleUser, require("agent", "supervisor", "quality", "auditor")]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Year = Annotated[int, Query(ge=2000, le=2100)]
Evaluator = Annotated[ConsoleUser, require("external_evaluator")]


@router.get("/spot-checks")
def spot_checks_page(request: Request, user: Reviewer, session: SessionDep, policy: PolicyDep,
                     month: Month | None = None) -> Response:
    """A month's review queue; a reviewer sees their own tasks, the quality department everyone's."""
    month = month or previous_month(datetime.now(UTC))
    drawn = spot_check.get_sample(session=session, month=month) is not None
    mine = user.person_id if user.role == "reviewer" else None
    tasks = spot_check.tasks_of(session=session, month=month, reviewer=mine) if drawn else []
    return render(request, "spot_checks.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  month=month, drawn=drawn, tasks=tasks, checklist=policy.spot_check.checklist)


@router.get("/veto")
def veto_page(request: Request, user: VetoReader, session: SessionDep, policy: PolicyDep,
              year: Year | None = None) -> Response:
    """Each team's major complaints this year against the veto threshold."""
    year = year or datetime.now(UTC).year
    rows, _ = veto.list_status(session=session, year=year, limit=200)
    return render(request, "veto.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  year=year, rows=rows, complaints=lambda r: len(json.loads(r.complaints)))


@router.get("/vouchers")
def vouchers_page(request: Request, user: VoucherReader, session: SessionDep, policy: PolicyDep) -> Response:
    """The newest compensation vouchers, issued and redeemed."""
    rows = vouchers.vouchers_newest_first(session=session, limit=200)
    return render(request, "vouchers.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  rows=rows, redeemed=sum(1 for r in rows if r.redeemed))


TicketId = Annotated[str, Path(pattern=ID_PATTERN)]
PathMonth = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _own_task(session: Any, user: ConsoleUser, month: str, ticket_id: str) -> SpotCheckTask:
    """The task, if the person may record it: a reviewer only their own (as the API: 403), else anyone's."""
    task = spot_check.get_task(session=session, month=month, ticket_id=ticket_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no review task for {ticket_id} in {month}")
    if user.role == "reviewer" and task.reviewer != user.person_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a reviewer records only their own review tasks")
    return task


def _task_page(request: Request, user: ConsoleUser, session: Any, settings: Settings, policy: Policy, month: str,
               ticket_id: str, *, problem: str = "", fields: list[str] | None = None,
               status_code: int = 200) -> Response:
    task = _own_task(session, user, month, ticket_id)
    return render(request, "spot_check_task.html", language=user.language, time_zone=zone_of(user, policy),
                  user=user, status_code=status_code, month=month, task=task, checklist=policy.spot_check.checklist,
                  rows=range(settings.console_findings_rows), problem=problem, fields=fields or [],
                  done=request.query_params.get("done") == "findings")


@router.get("/spot-checks/{month}/tasks/{ticket_id}")
def spot_check_task(request: Request, month: PathMonth, ticket_id: TicketId, user: Reviewer, session: SessionDep,
                    settings: SettingsDep, policy: PolicyDep) -> Response:
    """A review task with the form of the policy's checklist."""
    return _task_page(request, user, session, settings, policy, month, ticket_id)


def _findings_of(form: dict[str, list[str]], rows: int) -> list[dict[str, Any]]:
    """The filled rows (a row without a deviation is unused), each checked by the API's body model; an
    error names the form's field (``step_1``)."""
    findings: list[dict[str, Any]] = []
    for i in range(rows):
        deviation = one(form, f"deviation_{i}")
        if not deviation:
            continue
        try:
            row = checked(FindingBody, {"deviation": deviation, "step": one(form, f"step_{i}"),
                                        "severity": one(form, f"severity_{i}"),
                                        "abnormal_feedback": one(form, f"abnormal_{i}") == "on"})
        except FormError as exc:
            names = [f"{f}_{i}" for f in exc.fields]
            raise FormError(names, "; ".join(f"{n}: not on the checklist" for n in names)) from None
        findings.append(row.model_dump())
    return findings


@router.post("/spot-checks/{month}/tasks/{ticket_id}")
async def record_spot_check(request: Request, month: PathMonth, ticket_id: TicketId, user: Reviewer,
                            session: SessionDep, settings: SettingsDep, policy: PolicyDep,
                            client: TemporalDep) -> Response:
    """Records the review through the API's command (the month's workflow checks the checklist)."""
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    _own_task(session, user, month, ticket_id)
    try:
        findings = _findings_of(form, settings.console_findings_rows)
        await commands.record_findings(client, month, ticket_id, user.person_id, findings)
    except HTTPException as exc:
        if exc.status_code not in (status.HTTP_409_CONFLICT, status.HTTP_422_UNPROCESSABLE_CONTENT):
            raise
        return _task_page(request, user, session, settings, policy, month, ticket_id, problem=str(exc.detail),
                          fields=exc.fields if isinstance(exc, FormError) else [], status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/spot-checks/{month}/tasks/{ticket_id}?done=findings",
                            status_code=status.HTTP_303_SEE_OTHER)


def _evaluation_page(request: Request, user: ConsoleUser, policy: Policy, *, problem: str = "", filed: str = "",
                     status_code: int = 200) -> Response:
    return render(request, "evaluation.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, criteria=policy.mystery_shopping.criteria, problem=problem, filed=filed,
                  evaluation_id="E-" + uuid.uuid4().hex[:20], notes_max=policy.mystery_shopping.notes_max_chars,
                  zone=zone_of(user, policy))


@router.get("/evaluations/new")
def evaluation_form(request: Request, user: Evaluator, policy: PolicyDep) -> Response:
    """The mystery shopper's entry form: every criterion of the policy on its scale."""
    return _evaluation_page(request, user, policy)


@router.post("/evaluations/new")
async def file_evaluation_form(request: Request, user: Evaluator, session: SessionDep, settings: SettingsDep,
                               policy: PolicyDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    try:
        visited = one(form, "visited_at")
        try:  # the form's local time, in the evaluator's time zone
            local = zone(zone_of(user, policy))
            visited_at = datetime.fromisoformat(visited).replace(tzinfo=local) if visited else None
        except ValueError:
            raise FormError(["visited_at"], "visited_at: not a date and time") from None
        scores = {name: one(form, f"score_{name}") for name in policy.mystery_shopping.criteria}
        body = checked(EvaluationBody, {
            "evaluation_id": one(form, "evaluation_id"), "target_kind": one(form, "target_kind"),
            "target": one(form, "target"), "visited_at": visited_at, "scores": scores, "notes": one(form, "notes")})
        check_evaluation(body, policy)  # the API's own checks against the policy
        row, _created = await run_in_threadpool(
            file_evaluation, session, settings, evaluation_id=body.evaluation_id, target_kind=body.target_kind,
            target=body.target, visited_at=body.visited_at, scores=body.scores, notes=body.notes,
            evaluator=user.actor)
    except EvaluationConflict as exc:
        return _evaluation_page(request, user, policy, problem=str(exc), status_code=status.HTTP_409_CONFLICT)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_422_UNPROCESSABLE_CONTENT:
            raise
        detail = exc.detail if isinstance(exc.detail, str) else "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.detail)
        return _evaluation_page(request, user, policy, problem=detail, status_code=exc.status_code)
    return _evaluation_page(request, user, policy, filed=row.id, status_code=status.HTTP_201_CREATED)


CaseReader = Annotated[ConsoleUser, require("agent", "supervisor", "quality", "auditor", "team_head")]


@router.get("/cases")
def cases_page(request: Request, user: CaseReader, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
               q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, pattern=r"^[^\x00]*$")] = "") -> Response:
    """The case library's search (the API's BM25 index over Chinese and English cases)."""
    if has_lone_surrogate(q):
        raise FormError(["q"], "q: must not contain lone UTF-16 surrogates")
    hits = INDEX.get(session, settings.db_url).search(q, k=20) if q.strip() else []
    return render(request, "cases.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  q=q, hits=hits)
