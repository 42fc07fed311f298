"""The SLA board's reads: open tickets near breach, breached and paused, counted by team.

Deadlines are stored as ``domain.encoding.format_time`` strings (one spelling per instant, UTC), so
comparing the strings compares the instants. A ticket is near breach when a clock that is still
pending falls due within its priority's warning window (the caller computes the windows from the
policy); paused tickets (waiting on the customer) are not counted as near breach, their clocks stand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from domain.encoding import format_time
from readmodel.models import Ticket

ACTIVE = ("open", "acknowledged", "in_progress", "waiting_on_customer")
PAUSED = "waiting_on_customer"
BUCKETS = ("near", "breached", "paused")


@dataclass
class TeamCounts:
    team: str
    open: int = 0
    near: int = 0
    breached: int = 0
    paused: int = 0


@dataclass
class Board:
    teams: list[TeamCounts] = field(default_factory=list)
    rows: list[Ticket] = field(default_factory=list)
    total: int = 0  # tickets in the chosen bucket (rows holds at most ``limit`` of them)


Windows = Mapping[str, tuple[timedelta, timedelta]]  # priority: (first response, resolution)


def _near(now: datetime, windows: Windows) -> Any:
    """Not breached, not paused, and a pending clock due within its priority's window."""
    by_priority = []
    for priority, (first_response, resolution) in windows.items():
        by_priority.append(and_(col(Ticket.priority) == priority, or_(
            and_(col(Ticket.first_response_outcome) == "pending",
                 col(Ticket.first_response_due) <= format_time(now + first_response)),
            and_(col(Ticket.resolution_outcome) == "pending",
                 col(Ticket.resolution_due) <= format_time(now + resolution)))))
    return and_(col(Ticket.breached).is_(False), col(Ticket.status) != PAUSED, or_(*by_priority))


def _bucket(name: str, now: datetime, windows: Windows) -> Any:
    if name == "near":
        return _near(now, windows)
    if name == "breached":
        return col(Ticket.breached).is_(True)
    if name == "paused":
        return col(Ticket.status) == PAUSED
    return col(Ticket.status).in_(ACTIVE)


def sla_board(*, session: Session, now: datetime, windows: Windows, bucket: str = "near",
              team: str | None = None, priority: str | None = None, limit: int = 50) -> Board:
    """Counts by team over every open ticket, and the first ``limit`` tickets of ``bucket``.

    Args:
        windows: Per priority, how long before each clock's deadline a ticket counts as near breach.
        bucket: ``near`` (soonest deadline first), ``breached``, ``paused`` or ``open`` (oldest first).
    """
    active = col(Ticket.status).in_(ACTIVE)
    filters: list[Any] = [active]
    if team:
        filters.append(col(Ticket.team) == team)
    if priority:
        filters.append(col(Ticket.priority) == priority)
    near = _near(now, windows)

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    # One pass over the open tickets for every team's counts (sqlalchemy's select: five columns).
    counts = session.execute(
        sa_select(col(Ticket.team), func.count(), counted(near), counted(col(Ticket.breached).is_(True)),
                  counted(col(Ticket.status) == PAUSED))
        .where(*filters).group_by(col(Ticket.team)).order_by(col(Ticket.team))).all()
    teams = [TeamCounts(team=t, open=int(n), near=int(a or 0), breached=int(b or 0), paused=int(p or 0))
             for t, n, a, b, p in counts]
    chosen = [*filters, _bucket(bucket, now, windows)]
    total = sum(getattr(t, bucket) for t in teams) if bucket in BUCKETS else sum(t.open for t in teams)
    # The pending first response falls due before the resolution; otherwise the resolution's.
    due = case((col(Ticket.first_response_outcome) == "pending", col(Ticket.first_response_due)),
               else_=col(Ticket.resolution_due))
    order = [due, col(Ticket.id)] if bucket == "near" else [col(Ticket.created_at), col(Ticket.id)]
    rows = session.exec(select(Ticket).where(*chosen).order_by(*order).limit(limit)).all()
    return Board(teams=teams, rows=list(rows), total=total)


def teams(*, session: Session) -> list[str]:
    """Teams that have open tickets (the board's filter choices)."""
    return [t for t in session.exec(select(col(Ticket.team)).where(col(Ticket.status).in_(ACTIVE))
                                    .distinct().order_by(col(Ticket.team))).all()]
