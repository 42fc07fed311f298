"""Root causes and the joint meetings they propose (rules 6, 11 and 20), for the quality committee.

The root-causes page shows a stored daily analysis run as ``GET /analysis/runs/...`` serves it; the
proposals are accepted or rejected through the API's own commands (``api/commands.py``), so the
meeting the console starts is the one ``POST /analysis/proposals/{key}/accept`` would start.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import RedirectResponse, Response

from api import commands
from api.deps import PolicyDep, SessionDep, SettingsDep, get_temporal
from api.routes.analysis import proposal_view, run_view
from api.schemas.analysis import RejectBody
from console.auth import PREFIX, ConsoleUser, check_csrf, require
from console.forms import FormError, checked, one, read_form
from console.pages_tickets import zone_of
from console.render import render
from domain.policy import Policy
from readmodel import analysis as store

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The API's QualityDep: the quality committee (quality department) and supervisors.
Committee = Annotated[ConsoleUser, require("quality", "supervisor")]
RunKey = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]
ProblemKey = Annotated[str, Path(pattern=r"^P-[0-9a-f]{16}$")]
ProposalStatus = Annotated[str, Query(pattern="^(proposed|accepted|rejected)$")]


def _percent(value: float) -> str:
    return f"{value:.1f}"


@router.get("/root-causes")
def root_causes_page(request: Request, user: Committee, session: SessionDep, policy: PolicyDep,
                     run: RunKey | None = None) -> Response:
    """The newest analysis run (or ``run``): shares of failures per step and root cause, per month and
    team, the steps over the policy's threshold, the clusters and the priority list."""
    row = store.get_run(session, run)
    if row is None and run is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run: no analysis ran on {run}")
    view = run_view(row) if row is not None else None
    chart: dict[str, Any] | None = None
    if view is not None:
        by_step = view.shares.get("by_step", {})
        chart = {"teams": list(by_step), "series": [{"name": "%", "data": [by_step[s] for s in by_step]}]}
    return render(request, "root_causes.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  view=view, chart=chart, pct=_percent)


def _proposals_page(request: Request, user: ConsoleUser, session: Any, policy: Policy, status_: str | None, *,
                    problem: str = "", status_code: int = 200) -> Response:
    rows = store.list_proposals(session, status=status_)
    return render(request, "proposals.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, proposals=[proposal_view(p) for p in rows], shown=status_ or "",
                  problem=problem)


@router.get("/proposals")
def proposals_page(request: Request, user: Committee, session: SessionDep, policy: PolicyDep,
                   status_: Annotated[ProposalStatus | None, Query(alias="status")] = None) -> Response:
    """Systemic problems proposed for a joint meeting, newest first."""
    return _proposals_page(request, user, session, policy, status_)


def _proposal_page(request: Request, user: ConsoleUser, session: Any, policy: Policy, problem_key: str, *,
                   problem: str = "", problem_fields: list[str] | None = None, status_code: int = 200) -> Response:
    row = store.get_proposal(session, problem_key)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no proposal {problem_key}")
    view = proposal_view(row, store.share_history(session, problem_key))
    return render(request, "proposal.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, p=view, problem=problem, problem_fields=problem_fields or [],
                  evidence_json=json.dumps(view.evidence, ensure_ascii=False, indent=1),
                  rejected_at=row.rejected_at, accepted_at=row.accepted_at, now=datetime.now(UTC),
                  hours=f"{policy.joint_meeting.solution_due_hours:g}")


@router.get("/proposals/{problem_key}")
def proposal_page(request: Request, problem_key: ProblemKey, user: Committee, session: SessionDep,
                  policy: PolicyDep) -> Response:
    """One proposal with its evidence, its share of failures run by run, and the committee's forms."""
    return _proposal_page(request, user, session, policy, problem_key)


@router.post("/proposals/{problem_key}/accept")
async def accept(request: Request, problem_key: ProblemKey, user: Committee, session: SessionDep,
                 settings: SettingsDep, policy: PolicyDep) -> Response:
    """Accepting starts the 72-hour joint meeting, exactly as the API's accept route does."""
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    try:
        view = await commands.accept_proposal(session, settings, policy, lambda: get_temporal(request), problem_key,
                                              user.actor)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_409_CONFLICT:
            raise
        return _proposal_page(request, user, session, policy, problem_key, problem=str(exc.detail),
                              status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/meetings/{view.meeting_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/proposals/{problem_key}/reject")
async def reject(request: Request, problem_key: ProblemKey, user: Committee, session: SessionDep,
                 policy: PolicyDep) -> Response:
    """Rejecting records who and why (decision 020); no meeting starts."""
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    try:
        body = checked(RejectBody, {"reason": one(form, "reason")})
        commands.reject_proposal(session, problem_key, user.actor, body.reason)
    except HTTPException as exc:
        if exc.status_code not in (status.HTTP_409_CONFLICT, status.HTTP_422_UNPROCESSABLE_CONTENT):
            raise
        fields = exc.fields if isinstance(exc, FormError) else []
        return _proposal_page(request, user, session, policy, problem_key, problem=str(exc.detail),
                              problem_fields=fields, status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/proposals/{problem_key}", status_code=status.HTTP_303_SEE_OTHER)
