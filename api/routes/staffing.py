"""The roster on record, the daily staffing plan and the forecast behind it (rule 7)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status

from api import commands
from api.commands import invalid, known_team
from api.deps import STAFF, Caller, PolicyDep, SessionDep, require_roles
from api.schemas import AUTH, BODY, CODE_PATTERN, problems
from api.schemas.staffing import MAX_RANGE_DAYS, ForecastView, PlanView, RosterEntry, RosterView
from readmodel import staffing as store

router = APIRouter(prefix="/staffing", tags=["staffing"])

RosterWriterDep = Annotated[Caller, Depends(require_roles("team_head", "quality"))]
StaffingReaderDep = Annotated[Caller, Depends(require_roles(*STAFF, "team_head"))]
Team = Annotated[str, Path(pattern=CODE_PATTERN, description="a team of the policy ([departments.heads])")]


def _range(first: date | None, last: date | None) -> None:
    if first is not None and last is not None:
        if last < first:
            raise invalid("query", "to", "must not be before 'from'")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise invalid("query", "to", f"a range covers at most {MAX_RANGE_DAYS} days")


@router.put("/roster/{team}", response_model=RosterView, responses=problems(*AUTH, *BODY))
def put_roster(team: Team, session: SessionDep, caller: RosterWriterDep, policy: PolicyDep,
               body: Annotated[list[RosterEntry], Body(min_length=1, max_length=MAX_RANGE_DAYS)]) -> RosterView:
    """Record the agents rostered per day (a day sent again is replaced). A team head's key must name
    the team's head (key:team_head:<person>)."""
    known_team(policy, team, "path")
    if caller.role == "team_head":
        caller.check_person(policy.department_head(team), "team's roster")
    return commands.record_roster(session, team, body, caller.key_id)


@router.get("/roster/{team}", response_model=RosterView, responses=problems(*AUTH))
def get_roster(team: Team, session: SessionDep, caller: StaffingReaderDep, policy: PolicyDep,
               first: Annotated[date, Query(alias="from", description="YYYY-MM-DD")],
               last: Annotated[date, Query(alias="to", description="YYYY-MM-DD, at most a year after 'from'")]
               ) -> RosterView:
    """The team's roster on record, day by day."""
    known_team(policy, team, "path")
    _range(first, last)
    rows = store.roster(session, first=first, last=last, team=team)
    return RosterView(team=team, data=[RosterEntry(day=r.day, agents=r.agents) for r in rows])


@router.get("/plan", response_model=PlanView, responses=problems(*AUTH, 404))
def get_plan(session: SessionDep, caller: StaffingReaderDep, policy: PolicyDep,
             team: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
             first: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
             last: Annotated[date | None, Query(alias="to", description="YYYY-MM-DD")] = None) -> PlanView:
    """The newest run's plan: per day and team the forecast volume, agents needed, rostered and the gap."""
    if team is not None:
        known_team(policy, team, "query")
    _range(first, last)
    run = store.latest_run(session)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no staffing plan has been made yet")
    return PlanView(run_key=run.run_key,
                    data=commands.plan_days(session, run.run_key, team=team, first=first, last=last))


@router.get("/forecast", response_model=ForecastView, responses=problems(*AUTH, 404))
def get_forecast(session: SessionDep, caller: StaffingReaderDep) -> ForecastView:
    """The newest run's forecast per category and channel, with its backtest against seasonal naive."""
    run = store.latest_run(session)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no forecast has been made yet")
    return ForecastView(run_key=run.run_key, history_from=run.history_from, history_to=run.history_to,
                        tickets=run.tickets, series=json.loads(run.series))


