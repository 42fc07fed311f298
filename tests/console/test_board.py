"""The SLA board's counts and lists, on a read model of known tickets (no server needed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import case, event
from sqlmodel import Session, col, select

from console.pages_tickets import near_windows
from console.render import Formatter
from domain.encoding import format_time
from readmodel import board
from readmodel.db import get_engine, init_db, session_scope
from readmodel.models import Ticket
from tests.helpers import POLICY

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def _ticket(ident: str, *, team: str = "after-sales", priority: str = "P1", status: str = "open",
            first_in: timedelta | None = None, resolution_in: timedelta = timedelta(hours=8),
            first_outcome: str = "pending", breached: bool = False, resolution_outcome: str = "pending") -> Ticket:
    return Ticket(id=ident, status=status, priority=priority, category="after_sales", team=team, channel="web",
                  customer_ref_hash="x", summary=ident, description="", created_at=NOW, updated_at=NOW,
                  first_response_due=format_time(NOW + first_in) if first_in is not None else None,
                  resolution_due=format_time(NOW + resolution_in), first_response_outcome=first_outcome,
                  resolution_outcome=resolution_outcome, breached=breached)


def test_near_breached_paused_by_team(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'board.db'}"
    init_db(url)
    rows = [
        _ticket("near-first", first_in=timedelta(minutes=3)),  # P1: 15 min, the last quarter is 3.75 min
        _ticket("far-first", first_in=timedelta(minutes=10)),
        _ticket("near-resolution", first_outcome="met", resolution_in=timedelta(hours=1)),  # P1: 8 h, last 2 h
        _ticket("breached", first_in=timedelta(minutes=-5), breached=True),
        _ticket("paused", status="waiting_on_customer", first_outcome="met", resolution_in=timedelta(minutes=5)),
        _ticket("billing-near", team="billing", priority="P4", first_in=timedelta(minutes=20)),  # P4: 120 min, 30
        _ticket("closed", status="closed", first_in=timedelta(minutes=1)),
    ]
    with session_scope(url) as session:
        session.add_all(rows)
        session.commit()
        windows = near_windows(POLICY)
        assert windows["P1"] == (timedelta(minutes=3.75), timedelta(hours=2))
        data = board.sla_board(session=session, now=NOW, windows=windows)
        counts = {t.team: (t.open, t.near, t.breached, t.paused) for t in data.teams}
        assert counts == {"after-sales": (5, 2, 1, 1), "billing": (1, 1, 0, 0)}
        assert [t.id for t in data.rows] == ["near-first", "billing-near", "near-resolution"]  # soonest first
        assert data.total == 3
        only = board.sla_board(session=session, now=NOW, windows=windows, bucket="near", team="billing")
        assert [t.id for t in only.rows] == ["billing-near"] and only.total == 1
        assert [t.id for t in board.sla_board(session=session, now=NOW, windows=windows, bucket="breached").rows] == [
            "breached"]
        assert [t.id for t in board.sla_board(session=session, now=NOW, windows=windows, bucket="paused").rows] == [
            "paused"]
        assert board.sla_board(session=session, now=NOW, windows=windows, bucket="open", priority="P4").total == 1
        assert board.teams(session=session) == ["after-sales", "billing"]


def test_times_and_money_in_the_readers_language_and_zone() -> None:
    at = "2026-12-01T04:00:00.000000Z"
    assert Formatter("zh", "Asia/Shanghai").time(at) == "2026年12月1日 12:00:00"
    assert Formatter("en", "Europe/London").time(at) == "1 Dec 2026, 04:00:00"
    assert Formatter("en", "Not/AZone").time(at) == "1 Dec 2026, 04:00:00"  # unknown zone: UTC
    assert Formatter("zh", "UTC").money(150_000, "CNY") == "¥1,500.00"
    assert Formatter("en", "UTC").money(150_000, "CNY") == "CN¥1,500.00"
    assert Formatter("en", "UTC").until(format_time(NOW + timedelta(hours=71, minutes=5)), NOW) == "71 h 05 min"
    assert Formatter("zh", "UTC").until(format_time(NOW - timedelta(minutes=7)), NOW) == "-0 小时 07 分"


def test_nearest_tickets_are_the_soonest_deadlines_of_their_phase(tmp_path: Path) -> None:
    # The nearest tickets are the first `limit` by the deadline of their current phase (the pending
    # first response's, else the resolution's), then by id; the count is every near ticket.
    url = f"sqlite:///{tmp_path / 'board.db'}"
    init_db(url)
    rng = random.Random(7)
    tickets = [_ticket(f"T-{i:03d}", team=rng.choice(("a", "b")), priority=rng.choice(("P1", "P2", "P3", "P4")),
                       status=rng.choice(("open", "in_progress", "waiting_on_customer")),
                       first_in=None if rng.random() < 0.05 else timedelta(minutes=rng.randint(-30, 90)),
                       resolution_in=timedelta(minutes=rng.randint(-60, 600)),
                       first_outcome=rng.choice(("pending", "met", "breached")), breached=rng.random() < 0.1)
               for i in range(400)]
    with session_scope(url) as session:
        session.add_all(tickets)
        session.commit()
    windows = near_windows(POLICY)
    with session_scope(url) as session:
        for limit, team in ((5, None), (37, None), (500, None), (10, "b")):
            got = board.sla_board(session=session, now=NOW, windows=windows, bucket="near", team=team, limit=limit)
            near = [t for t in session.exec(select(Ticket)).all()
                    if (team is None or t.team == team) and _is_near(t, windows)]
            due = [t.first_response_due if t.first_response_outcome == "pending" else t.resolution_due for t in near]
            expected = [t.id for _, t in sorted(zip(due, near, strict=True),
                                               key=lambda p: (p[0] is not None, p[0] or "", p[1].id))][:limit]
            assert [t.id for t in got.rows] == expected and got.total == len(near), (limit, team)
            assert 0 < len(expected)


def _is_near(t: Ticket, windows: board.Windows) -> bool:
    """The near-breach rule of readmodel/board.py, spelled out once more for the check."""
    first, resolution = windows[t.priority]
    return (not t.breached and t.status != board.PAUSED and (
        (t.first_response_outcome == "pending" and t.first_response_due is not None
         and t.first_response_due <= format_time(NOW + first))
        or (t.resolution_outcome == "pending" and t.resolution_due is not None
            and t.resolution_due <= format_time(NOW + resolution))))


def random_tickets(rng: random.Random, count: int, prefix: str = "R") -> list[Ticket]:
    """Open and closed tickets of every kind the board tells apart; deadlines on whole minutes, so
    many share one and the order falls back to the id."""
    return [_ticket(f"{prefix}-{i:04d}", team=rng.choice(("a", "b", "c")),
                    priority=rng.choice(("P1", "P2", "P3", "P4")),
                    status=rng.choice(("open", "acknowledged", "in_progress", "waiting_on_customer", "closed",
                                       "cancelled")),
                    first_in=None if rng.random() < 0.05 else timedelta(minutes=rng.randint(-30, 60)),
                    resolution_in=timedelta(minutes=rng.randint(-120, 2000)),
                    first_outcome=rng.choice(("pending", "pending", "met", "breached")),
                    resolution_outcome=rng.choice(("pending", "pending", "pending", "met")),
                    breached=rng.random() < 0.1)
                for i in range(count)]


def check_board_against_its_definition(session: Session) -> None:
    """Every bucket, filter and limit of ``board.sla_board`` on the tickets in ``session``: the counts
    equal a recount here, the rows the one ORDER BY of their definition (run by the same database,
    so a missing deadline sorts where that database puts NULL), and ``board.teams`` the open teams."""
    windows = near_windows(POLICY)
    tickets = session.exec(select(Ticket)).all()
    due = case((col(Ticket.first_response_outcome) == "pending", col(Ticket.first_response_due)),
               else_=col(Ticket.resolution_due))
    for team in (None, "b"):
        for priority in (None, "P2"):
            mine = [t for t in tickets if t.status in board.ACTIVE and team in (None, t.team)
                    and priority in (None, t.priority)]
            expected = [board.TeamCounts(team=name, open=len(of), near=sum(_is_near(t, windows) for t in of),
                                         breached=sum(t.breached for t in of),
                                         paused=sum(t.status == board.PAUSED for t in of))
                        for name in sorted({t.team for t in mine}) for of in [[t for t in mine if t.team == name]]]
            filters: list[Any] = [col(Ticket.status).in_(board.ACTIVE)]
            filters += [col(Ticket.team) == team] if team else []
            filters += [col(Ticket.priority) == priority] if priority else []
            for bucket in ("near", "breached", "paused", "open"):
                order = [due, col(Ticket.id)] if bucket == "near" else [col(Ticket.created_at), col(Ticket.id)]
                for limit in (1, 7, 50, 1000):
                    got = board.sla_board(session=session, now=NOW, windows=windows, bucket=bucket, team=team,
                                          priority=priority, limit=limit)
                    rows = session.exec(select(Ticket).where(*filters, board._bucket(bucket, NOW, windows))
                                        .order_by(*order).limit(limit)).all()
                    case_ = (team, priority, bucket, limit)
                    assert got.teams == expected, case_
                    assert [t.id for t in got.rows] == [t.id for t in rows], case_
                    assert got.total == sum((getattr(t, bucket) if bucket != "open" else t.open) for t in expected)
    assert board.teams(session=session) == sorted({t.team for t in tickets if t.status in board.ACTIVE})


def test_board_equals_its_definition_on_random_tickets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'board.db'}"
    init_db(url)
    with session_scope(url) as session:
        session.add_all(random_tickets(random.Random(16), 600))
        session.commit()
        check_board_against_its_definition(session)


def test_a_new_team_is_listed_with_its_first_open_ticket(tmp_path: Path) -> None:
    # The filter's teams are read from the tickets each time (board.teams), not kept anywhere.
    url = f"sqlite:///{tmp_path / 'board.db'}"
    init_db(url)
    with session_scope(url) as session:
        session.add_all([_ticket("A-1", team="after-sales"), _ticket("C-1", team="billing", status="closed")])
        session.commit()
        assert board.teams(session=session) == ["after-sales"]
        session.add_all([_ticket("N-1", team="new-team", status="acknowledged"), _ticket("Z-1", team="zeta")])
        session.commit()
        assert board.teams(session=session) == ["after-sales", "new-team", "zeta"]
        ticket = session.get(Ticket, "A-1")
        assert ticket is not None
        ticket.status = "closed"
        session.add(ticket)
        session.commit()
        assert board.teams(session=session) == ["new-team", "zeta"]


@pytest.mark.parametrize("analyze", [False, True])
def test_board_reads_its_indexes_with_or_without_statistics(tmp_path: Path, analyze: bool) -> None:
    # SQLite's choice of index depends on whether the file has the planner's statistics (ANALYZE)
    # and what they say: an earlier board was fast with them and slow without, and on these mostly
    # closed tickets SQLite's own choice for a team's nearest tickets is another index and a sort.
    # The board names its indexes (decision 030): the same plan on every file.
    url = f"sqlite:///{tmp_path / 'board.db'}"
    init_db(url)
    rng = random.Random(1)
    with session_scope(url) as session:
        session.add_all(_ticket(f"S-{i:04d}", team=rng.choice("abcdef"), priority=rng.choice(("P2", "P4", "P4")),
                                status=rng.choices(("open", "in_progress", "waiting_on_customer", "closed"),
                                                   [3, 3, 1, 93])[0],
                                first_in=timedelta(minutes=rng.randint(-30, 60)),
                                resolution_in=timedelta(minutes=rng.randint(-120, 5000)),
                                first_outcome=rng.choice(("pending", "met", "met")), breached=rng.random() < 0.01)
                        for i in range(1500))
        session.commit()
    if analyze:
        with get_engine(url).begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    plans: list[list[str]] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().startswith(("SELECT", "WITH")):
            plans.append([row[3] for row in cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                          if " ticket " in f"{row[3]} "])

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", explain)
    try:
        with session_scope(url) as session:
            for team, priority in ((None, None), ("b", "P4")):
                board.sla_board(session=session, now=NOW, windows=near_windows(POLICY), team=team, priority=priority)
            board.teams(session=session)
    finally:
        event.remove(engine, "before_cursor_execute", explain)
    assert len(plans) == 7, plans  # per board: counts, nearest, their rows; then the teams
    for counts, nearest, rows in (plans[0:3], plans[3:6]):
        assert [p.split(" (")[0] for p in counts] == ["SEARCH ticket USING COVERING INDEX ix_ticket_board"]
        assert [p.split(" (")[0] for p in nearest] == [
            f"SEARCH ticket USING COVERING INDEX ix_ticket_board_{walk}" for _ in range(3)
            for walk in ("first", "resolution")]
        assert rows == ["SEARCH ticket USING INDEX sqlite_autoindex_ticket_1 (id=?)"]
    assert all(p.startswith("SEARCH ticket USING COVERING INDEX ix_ticket_board (status=?") for p in plans[6]), plans
