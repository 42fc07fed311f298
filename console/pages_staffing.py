"""Forecast and staffing (rule 7): a team's next days against its roster, and the forecast's backtest.

The plan and the forecast are the ones the daily run stored (``workflows/staffing.py``), read as
``GET /staffing/plan`` and ``GET /staffing/forecast`` read them; the roster form records through the
API's own command (``api/commands.py:record_roster``), so its checks are the same. A team head sees
and edits only the teams they head (``[departments.heads]`` names them, as a team head's API key
must; decision 029); quality, supervisors and admins see every team, and quality (and admins) may
edit any roster.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response

from api import commands
from api.deps import PolicyDep, SessionDep, SettingsDep
from api.schemas import CODE_PATTERN
from api.schemas.staffing import RosterEntry
from console.auth import PREFIX, ConsoleUser, check_csrf, require
from console.forms import FormError, checked, one, read_form
from console.i18n import catalog
from console.pages_tickets import zone_of
from console.render import render
from domain.policy import Policy
from readmodel import staffing as store
from settings import Settings

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The API's readers of the plan that a team's staffing concerns; agents and auditors have the API.
Planner = Annotated[ConsoleUser, require("team_head", "quality", "supervisor")]
Forecaster = Annotated[ConsoleUser, require("quality", "supervisor")]
Team = Annotated[str, Path(pattern=CODE_PATTERN)]
FIELD = "agents_"  # the roster form's field per day: agents_YYYY-MM-DD


def _teams_of(user: ConsoleUser, policy: Policy) -> list[str]:
    """The teams whose staffing ``user`` may see: a team head's own (by person id), else all."""
    teams = commands.staffing_teams(policy)
    if user.role == "team_head":
        return [t for t in teams if policy.department_head(t) == user.person_id]
    return teams


def _may_see(user: ConsoleUser, policy: Policy, team: str) -> None:
    commands.known_team(policy, team, "path")
    if team not in _teams_of(user, policy):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"a team head sees only their own team's staffing, not {team}")


def _may_edit(user: ConsoleUser, policy: Policy, team: str) -> bool:
    return user.may("quality") or (user.role == "team_head" and policy.department_head(team) == user.person_id)


def _today(policy: Policy) -> date:
    """Days are the policy's calendar days, as the plan's and the counts' are."""
    return datetime.now(ZoneInfo(policy.calendar.timezone)).date()


def _chart(session: Any, policy: Policy, settings: Settings, run: Any, team: str, days: list[date],
           plan: dict[date, Any], words: dict[str, str]) -> dict[str, Any]:
    """The recent actual daily volume (the read model's counts) and the forecast ahead, on one day axis."""
    tz = ZoneInfo(policy.calendar.timezone)
    first = days[0] - timedelta(days=settings.console_staffing_actual_days)
    teams_since = datetime.combine(run.history_from, time(), tz).astimezone(UTC)
    actual = store.team_daily_counts(session, team=team, since=datetime.combine(first, time(), tz).astimezone(UTC),
                                     until=datetime.now(UTC), tz=tz, teams_since=teams_since)
    axis = [first + timedelta(days=i) for i in range((days[-1] - first).days + 1)]
    return {"x": [d.isoformat() for d in axis],
            "series": [{"name": words["actual_volume"], "type": "line",
                        "data": [actual.get(d, 0) if d <= days[0] else None for d in axis]},
                       {"name": words["forecast_volume"], "type": "line",
                        "data": [round(plan[d].forecast_volume, 1) if d in plan else None for d in axis]}]}


def _staffing_page(request: Request, user: ConsoleUser, session: Any, policy: Policy, settings: Settings, team: str,
                   *, problem: str = "", problem_fields: list[str] | None = None, status_code: int = 200) -> Response:
    today = _today(policy)
    days = [today + timedelta(days=i) for i in range(policy.forecast.horizon_days)]
    run = store.latest_run(session)
    plan = {p.day: p for p in commands.plan_days(session, run.run_key, team=team, first=days[0], last=days[-1])} \
        if run is not None else {}
    roster = {r.day: r.agents for r in store.roster(session, first=days[0], last=days[-1], team=team)}
    words = catalog(user.language)
    chart = _chart(session, policy, settings, run, team, days, plan, words) if run is not None and plan else None
    return render(request, "staffing.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, team=team, teams=_teams_of(user, policy), run=run, days=days, plan=plan,
                  roster=roster, chart=chart, editable=_may_edit(user, policy, team), field=FIELD,
                  short_days=sum(1 for p in plan.values() if p.short_by > 0), problem=problem,
                  problem_fields=problem_fields or [], run_hour=policy.staffing.run_hour_utc,
                  actual_days=settings.console_staffing_actual_days)


@router.get("/staffing")
def staffing_home(user: Planner, policy: PolicyDep) -> Response:
    """The first team the person may see (a team head: the team they head)."""
    teams = _teams_of(user, policy)
    if not teams:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{user.person_id} heads no team of the policy "
                                                       "([departments.heads])")
    return RedirectResponse(f"{PREFIX}/staffing/{teams[0]}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/staffing/{team}")
def staffing_page(request: Request, team: Team, user: Planner, session: SessionDep, policy: PolicyDep,
                  settings: SettingsDep) -> Response:
    """The next days of ``team``: forecast volume, agents needed, rostered, short by; the chart; the roster form."""
    _may_see(user, policy, team)
    return _staffing_page(request, user, session, policy, settings, team)


def _entries(form: dict[str, list[str]]) -> list[RosterEntry]:
    """The roster form's filled-in days; a blank field leaves that day as it is."""
    out = []
    for name, values in form.items():
        if name == "csrf":
            continue
        if not name.startswith(FIELD):
            raise FormError([name[:80]], f"{name[:80]}: not a field of the roster form")
        if len(values) > 1:
            raise FormError([name], f"{name}: sent more than once")
        if not values[0].strip():
            continue
        try:
            out.append(checked(RosterEntry, {"day": name[len(FIELD):], "agents": values[0]}))
        except FormError as exc:
            raise FormError([name, *exc.fields], f"{name}: {exc.detail}") from exc
    return out


@router.post("/staffing/{team}/roster")
async def save_roster(request: Request, team: Team, user: Planner, session: SessionDep, policy: PolicyDep,
                      settings: SettingsDep) -> Response:
    """Records the agents rostered on the filled-in days, as ``PUT /staffing/roster/{team}`` does."""
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    _may_see(user, policy, team)
    if not _may_edit(user, policy, team):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role!r} may not change a roster")
    try:
        try:
            commands.record_roster(session, team, _entries(form), user.actor)
        except RequestValidationError as exc:  # the command's own checks (a day twice, too long a span)
            names = [str(e["loc"][-1]) for e in exc.errors()]
            raise FormError(names, "; ".join(f"{n}: {e['msg']}" for n, e in zip(names, exc.errors(),
                                                                                strict=True))) from exc
    except FormError as exc:
        return _staffing_page(request, user, session, policy, settings, team, problem=str(exc.detail),
                              problem_fields=exc.fields, status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/staffing/{team}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/forecast")
def forecast_page(request: Request, user: Forecaster, session: SessionDep, policy: PolicyDep) -> Response:
    """The newest run's forecast per category and channel, with its backtest against seasonal naive."""
    run = store.latest_run(session)
    series = sorted(json.loads(run.series), key=lambda s: (s["category"], s["channel"])) if run is not None else []
    return render(request, "forecast.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  run=run, series=series, run_hour=policy.staffing.run_hour_utc)
