"""Supervision pages: the spot-check review queue with the reviewer's checklist, the quality veto by
team, and the compensation vouchers issued and redeemed. Read from the read model as the API does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import PolicyDep, SessionDep
from console.auth import PREFIX, ConsoleUser, require
from console.pages_tickets import zone_of
from console.render import render
from readmodel import spot_check, veto, vouchers

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Reviewer = Annotated[ConsoleUser, require("reviewer", "quality", "supervisor")]
VetoReader = Annotated[ConsoleUser, require("quality", "supervisor", "auditor")]
VoucherReader = Annotated[ConsoleUser, require("agent", "supervisor", "quality", "auditor")]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Year = Annotated[int, Query(ge=2000, le=2100)]


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
