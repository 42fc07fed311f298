"""The one door to the staffing tables (rule 7): daily ticket counts for the forecast, the plan each run
stores, the roster on record. Every write is keyed so a retry replaces instead of adding.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from readmodel.models import Ticket
from readmodel.staffing_models import RosterDay, StaffingPlanDay, StaffingRun

# Rows fetched per round trip while counting: memory stays flat however long the history is.
COUNT_CHUNK = 20_000


def daily_counts(session: Session, *, since: datetime, until: datetime,
                 tz: ZoneInfo) -> tuple[dict[tuple[str, str], dict[date, int]], int]:
    """Tickets created in [since, until) per (category, channel) and local day of ``tz``.

    Only three columns are streamed, in chunks (the day boundary is the policy's time zone, which
    SQL cannot shift portably); returns the counts and the number of tickets read.
    """
    q = (select(col(Ticket.category), col(Ticket.channel), col(Ticket.created_at))
         .where(col(Ticket.created_at) >= since, col(Ticket.created_at) < until))
    counts: dict[tuple[str, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    total = 0
    for category, channel, created in session.execute(q.execution_options(yield_per=COUNT_CHUNK)):
        at = created if created.tzinfo else created.replace(tzinfo=UTC)
        counts[(category, channel)][at.astimezone(tz).date()] += 1
        total += 1
    return {k: dict(v) for k, v in counts.items()}, total


def team_of_categories(session: Session, *, since: datetime) -> dict[str, str]:
    """The team that handled most tickets of each category since ``since`` (aggregated in SQL).

    Ties go to the team first by name, so two runs over the same data agree.
    """
    n = func.count().label("n")
    q = (select(col(Ticket.category), col(Ticket.team), n).where(col(Ticket.created_at) >= since)
         .group_by(col(Ticket.category), col(Ticket.team))
         .order_by(col(Ticket.category), n.desc(), col(Ticket.team)))
    best: dict[str, str] = {}
    for category, team, _ in session.execute(q):
        best.setdefault(category, team)
    return best


def store_plan(session: Session, *, run_key: str, history_from: date, history_to: date, tickets: int,
               series: list[dict[str, Any]], plan: Iterable[StaffingPlanDay]) -> None:
    """One run per run key: a retried activity, or a second run the same day, replaces the first."""
    row = session.get(StaffingRun, run_key) or StaffingRun(run_key=run_key, created_at=datetime.now(UTC),
                                                           history_from=history_from, history_to=history_to,
                                                           tickets=0, series="[]")
    row.created_at, row.history_from, row.history_to = datetime.now(UTC), history_from, history_to
    row.tickets, row.series = tickets, json.dumps(series, ensure_ascii=False, sort_keys=True)
    session.add(row)
    session.execute(delete(StaffingPlanDay).where(col(StaffingPlanDay.run_key) == run_key))
    session.add_all(list(plan))
    session.commit()


def latest_run(session: Session) -> StaffingRun | None:
    q = select(StaffingRun).order_by(col(StaffingRun.run_key).desc()).limit(1)
    return session.execute(q).scalars().first()


def plan_days(session: Session, *, run_key: str, team: str | None = None, first: date | None = None,
              last: date | None = None) -> list[StaffingPlanDay]:
    """The run's plan, by day then team, within [first, last] when given."""
    q = select(StaffingPlanDay).where(col(StaffingPlanDay.run_key) == run_key)
    if team is not None:
        q = q.where(col(StaffingPlanDay.team) == team)
    if first is not None:
        q = q.where(col(StaffingPlanDay.day) >= first)
    if last is not None:
        q = q.where(col(StaffingPlanDay.day) <= last)
    return list(session.execute(q.order_by(col(StaffingPlanDay.day), col(StaffingPlanDay.team))).scalars())


def put_roster(session: Session, *, team: str, days: Sequence[tuple[date, int]], by: str) -> int:
    """Records the agents rostered per day for ``team`` (a day sent again replaces it); returns days created."""
    now, created = datetime.now(UTC), 0
    for day, agents in days:
        row = session.get(RosterDay, (day, team))
        if row is None:
            row, created = RosterDay(day=day, team=team, agents=agents, updated_by=by, updated_at=now), created + 1
        row.agents, row.updated_by, row.updated_at = agents, by, now
        session.add(row)
    session.commit()
    return created


def roster(session: Session, *, first: date, last: date, team: str | None = None) -> list[RosterDay]:
    """The roster on record within [first, last], by day then team."""
    q = select(RosterDay).where(col(RosterDay.day) >= first, col(RosterDay.day) <= last)
    if team is not None:
        q = q.where(col(RosterDay.team) == team)
    return list(session.execute(q.order_by(col(RosterDay.day), col(RosterDay.team))).scalars())


def roster_map(session: Session, *, first: date, last: date) -> dict[tuple[date, str], int]:
    return {(r.day, r.team): r.agents for r in roster(session, first=first, last=last)}


def team_daily_counts(session: Session, *, team: str, since: datetime, until: datetime, tz: ZoneInfo,
                      teams_since: datetime) -> dict[date, int]:
    """Tickets created per local day in [since, until) in the categories the plan gives ``team``: the
    run's attribution (the team that handled most of a category since ``teams_since``), so the actual
    volume is counted the way the forecast it is drawn next to was."""
    counts, _ = daily_counts(session, since=since, until=until, tz=tz)
    team_of = team_of_categories(session, since=teams_since)
    out: dict[date, int] = defaultdict(int)
    for (category, _channel), days in counts.items():
        if team_of.get(category, "default") == team:
            for day, n in days.items():
                out[day] += n
    return dict(out)
