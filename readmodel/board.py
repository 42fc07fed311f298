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

from sqlalchemy import String, and_, case, false, func, literal, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from domain.encoding import format_time
from readmodel.models import BOARD_FIRST_INDEX, BOARD_INDEX, BOARD_RESOLUTION_INDEX, Ticket

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
    """Not breached, not paused, and a pending clock due within its priority's window.

    Each clock's deadline is compared once, with its priority's limit picked by a CASE: the counts
    evaluate this for every open ticket, and one comparison per clock costs less than an OR of a
    term per priority (about 15 % of the counting). A priority without a window is never near.
    """
    if not windows:
        return false()

    def limit(clock: int) -> Any:
        return case(*((col(Ticket.priority) == p, format_time(now + pair[clock])) for p, pair in windows.items()))

    return and_(col(Ticket.breached).is_(False), col(Ticket.status) != PAUSED, or_(
        and_(col(Ticket.first_response_outcome) == "pending", col(Ticket.first_response_due) <= limit(0)),
        and_(col(Ticket.resolution_outcome) == "pending", col(Ticket.resolution_due) <= limit(1))))


def _bucket(name: str, now: datetime, windows: Windows) -> Any:
    if name == "near":
        return _near(now, windows)
    if name == "breached":
        return col(Ticket.breached).is_(True)
    if name == "paused":
        return col(Ticket.status) == PAUSED
    return col(Ticket.status).in_(ACTIVE)


def _through(index: str, query: Any) -> Any:
    """``query`` reading the ticket table through ``index`` on SQLite.

    Without the planner's statistics (a fresh file, no ANALYZE) SQLite guesses that one value of
    ``breached`` or ``priority`` selects a few rows and walks those indexes into the table: several
    times slower than the board's covering indexes. Naming the index makes the plan the same on
    every file (decision 030); PostgreSQL's planner always has statistics and chooses by them.
    """
    return query.with_hint(Ticket, f"INDEXED BY {index}", "sqlite")


def sla_board(*, session: Session, now: datetime, windows: Windows, bucket: str = "near",
              team: str | None = None, priority: str | None = None, limit: int = 50) -> Board:
    """Counts by team over every open ticket, and the first ``limit`` tickets of ``bucket``.

    Args:
        windows: Per priority, how long before each clock's deadline a ticket counts as near breach.
        bucket: ``near`` (soonest deadline first), ``breached``, ``paused`` or ``open`` (oldest first).
    """
    narrowing: list[Any] = []
    if team:
        narrowing.append(col(Ticket.team) == team)
    if priority:
        narrowing.append(col(Ticket.priority) == priority)
    filters = [col(Ticket.status).in_(ACTIVE), *narrowing]
    near = _near(now, windows)

    # One pass over the open tickets' range of the board index: grouped by status and team, its
    # order, so no sort; the statuses are added up per team here (at most four rows a team).
    counts = session.execute(_through(BOARD_INDEX,
        sa_select(col(Ticket.status), col(Ticket.team), func.count(), func.count().filter(near),
                  func.count().filter(col(Ticket.breached).is_(True)))
        .where(*filters).group_by(col(Ticket.status), col(Ticket.team))
        .order_by(col(Ticket.status), col(Ticket.team)))).all()
    by_team: dict[str, TeamCounts] = {}
    for status, name, n, a, b in counts:
        found = by_team.setdefault(name, TeamCounts(team=name))
        found.open += int(n)
        found.near += int(a or 0)
        found.breached += int(b or 0)
        found.paused += int(n) if status == PAUSED else 0
    teams = [by_team[name] for name in sorted(by_team)]
    chosen = [*filters, _bucket(bucket, now, windows)]
    total = sum(getattr(t, bucket) for t in teams) if bucket in BUCKETS else sum(t.open for t in teams)
    if bucket == "near":
        rows = _nearest(session, [*narrowing, near], limit)
    else:
        rows = list(session.exec(select(Ticket).where(*chosen).order_by(col(Ticket.created_at), col(Ticket.id))
                                 .limit(limit)).all())
    return Board(teams=teams, rows=rows, total=total)


def _nearest(session: Session, chosen: list[Any], limit: int) -> list[Ticket]:
    """The ``limit`` open tickets of ``chosen`` (the near test and the filters) with the soonest
    deadline, then by id.

    The deadline is the pending first response's, otherwise the resolution's. Per status that can
    be near (not paused), the tickets waiting for their first response are walked in the order of
    its deadline and the others in the resolution's, each through its index and stopped at
    ``limit``; the database merges these few rows in the same order (missing deadlines where it
    sorts NULL), so the result is the one ORDER BY over every near ticket, without reading them all.
    Then only those tickets are read from the table.
    """
    pending = col(Ticket.first_response_outcome) == "pending"
    walks: list[Any] = []
    for status in ACTIVE:
        if status == PAUSED:
            continue  # never near (and each walk names its status: one range of the index, in order)
        for index, phase, due in ((BOARD_FIRST_INDEX, pending, col(Ticket.first_response_due)),
                                  (BOARD_RESOLUTION_INDEX, ~pending, col(Ticket.resolution_due))):
            walk = _through(index, sa_select(col(Ticket.id).label("id"), due.label("due")).where(
                *chosen, col(Ticket.status) == status, phase).order_by(due, col(Ticket.id)).limit(limit)).subquery()
            # SQLite takes ORDER BY and LIMIT in a compound's member only inside a subquery.
            walks.append(sa_select(walk))
    merged = union_all(*walks).subquery()
    ids = list(session.execute(sa_select(merged.c.id).order_by(merged.c.due, merged.c.id).limit(limit)).scalars())
    if not ids:
        return []
    found = {t.id: t for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ids))).all()}
    return [found[i] for i in ids if i in found]


def teams(*, session: Session) -> list[str]:
    """Teams that have open tickets (the board's filter choices), read live: a new team is listed
    as soon as its first ticket is.

    A walk of the board index, per open status from one team to the next (``min(team)`` above the
    last one found: one seek each), so the cost grows with the number of teams, not of tickets; a
    ``DISTINCT`` over the open tickets read every one of them (about 100 ms at 100,000).
    """
    def first_team(status: Any, after: Any = None) -> Any:
        query = sa_select(func.min(col(Ticket.team))).where(col(Ticket.status) == status)
        if after is not None:
            query = query.where(col(Ticket.team) > after)
        return _through(BOARD_INDEX, query).scalar_subquery()

    first, *others = (sa_select(literal(s, String).label("status"), first_team(s).label("team")) for s in ACTIVE)
    walk = first.cte("walk", recursive=True)
    walk = walk.union_all(*others, sa_select(walk.c.status, first_team(walk.c.status, walk.c.team))
                          .where(walk.c.team.is_not(None)))
    found = session.execute(sa_select(walk.c.team).where(walk.c.team.is_not(None)).distinct()
                            .order_by(walk.c.team)).scalars()
    return list(found)
