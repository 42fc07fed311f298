"""Quality veto (rule 8): each team's major complaints of a year and its award eligibility."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from temporalio.service import RPCError

from api.deps import PolicyDep, QualityDep, SessionDep, SettingsDep, StaffReaderDep, TemporalDep
from api.schemas import AUTH, BODY, problems
from api.schemas.veto import Team, UpholdAccepted, UpholdBody, VetoPage, VetoStatusView, Year
from domain.encoding import format_time
from domain.veto import UPHELD, MajorComplaint, VetoInput, veto_subject, year_of
from readmodel import veto
from readmodel.veto_models import VetoStatus
from services.veto import report_major_complaint

router = APIRouter(prefix="/veto", tags=["quality veto"])


def _view(row: VetoStatus) -> VetoStatusView:
    return VetoStatusView.model_validate({
        "team": row.team, "year": row.year, "threshold": row.threshold, "count": row.count, "eligible": row.eligible,
        "crossed_at": row.crossed_at, "complaints": json.loads(row.complaints)})


@router.get("/{year}", response_model=VetoPage, responses=problems(*AUTH))
def list_year(year: Year, caller: StaffReaderDep, session: SessionDep,
              offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
              limit: Annotated[int, Query(ge=1, le=200)] = 50) -> VetoPage:
    """Every team with a major complaint in the year: count, eligibility, when the line was crossed."""
    rows, total = veto.list_status(session=session, year=year, offset=offset, limit=limit)
    return VetoPage(data=[_view(r) for r in rows], count=total, offset=offset, limit=limit)


@router.get("/{year}/teams/{team}", response_model=VetoStatusView, responses=problems(*AUTH))
def team_year(year: Year, team: Team, caller: StaffReaderDep, session: SessionDep,
              policy: PolicyDep) -> VetoStatusView:
    """A team's year: no complaint recorded means eligible with a count of 0."""
    row = veto.get_status(session=session, team=team, year=year)
    if row is None:
        return VetoStatusView(team=team, year=year, threshold=policy.performance.veto_major_complaints_per_year,
                              count=0, eligible=True, crossed_at=None, complaints=[])
    return _view(row)


@router.post("/{year}/teams/{team}/complaints", status_code=status.HTTP_202_ACCEPTED, response_model=UpholdAccepted,
             responses={**problems(*AUTH, *BODY, 503), 409: {"description": "the year is closed"},
                        422: {"description": "the year is not the current one"}})
async def uphold(year: Year, team: Team, body: UpholdBody, caller: QualityDep, client: TemporalDep,
                 policy: PolicyDep, settings: SettingsDep) -> UpholdAccepted:
    """The quality department upholds a complaint against the team: a major complaint of this year."""
    rule = policy.veto_policy(team)
    now = datetime.now(UTC)
    current = year_of(now, rule.timezone)
    if year != current:
        raise HTTPException(422, [{"loc": ["path", "year"], "type": "value_error",
                                   "msg": f"an upheld complaint counts in the current year, {current}"}])
    complaint = MajorComplaint(team=team, source_key=f"{body.ticket_id}:{UPHELD}", kind=UPHELD,
                               ticket_id=body.ticket_id, at=format_time(now), actor=caller.key_id)
    try:
        counted = await report_major_complaint(client, complaint, VetoInput(team, year, rule), settings.task_queue)
    except RPCError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Temporal is not reachable; try again") from exc
    if not counted:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the veto year {year} of {team} is closed")
    return UpholdAccepted(source_key=complaint.source_key, counted_in=veto_subject(team, year))
