"""Supervision pages: the spot-check review queue with the reviewer's checklist, the quality veto by
team, the compensation vouchers issued and redeemed, the mystery shopper's entry form (filed
through the same service and checks as ``POST /evaluations``) and the case library's search."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import PolicyDep, SessionDep, SettingsDep
from api.routes.cases import INDEX, MAX_QUERY_CHARS
from api.routes.evaluations import _check as check_evaluation
from api.schemas.evaluations import EvaluationBody
from console.auth import PREFIX, ConsoleUser, check_csrf, require
from console.forms import FormError, checked, one, read_form
from console.pages_tickets import zone_of
from console.render import render, zone
from domain.json_limits import has_lone_surrogate
from domain.policy import Policy
from readmodel import spot_check, veto, vouchers
from services.evaluations import EvaluationConflict, file_evaluation

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Reviewer = Annotated[ConsoleUser, require("reviewer", "quality", "supervisor")]
VetoReader = Annotated[ConsoleUser, require("quality", "supervisor", "auditor")]
VoucherReader = Annotated[ConsoleUser, require("agent", "supervisor", "quality", "auditor")]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Year = Annotated[int, Query(ge=2000, le=2100)]
Evaluator = Annotated[ConsoleUser, require("external_evaluator")]


def _last_month(now: datetime) -> str:
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@router.get("/spot-checks")
def spot_checks_page(request: Request, user: Reviewer, session: SessionDep, policy: PolicyDep,
                     month: Month | None = None) -> Response:
    """A month's review queue; a reviewer sees their own tasks, the quality department everyone's."""
    month = month or _last_month(datetime.now(UTC))
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
