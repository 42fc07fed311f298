"""The SLA board's counts and lists, on a read model of known tickets (no server needed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from console.pages_tickets import near_windows
from console.render import Formatter
from domain.encoding import format_time
from readmodel import board
from readmodel.db import init_db, session_scope
from readmodel.models import Ticket
from tests.helpers import POLICY

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def _ticket(ident: str, *, team: str = "after-sales", priority: str = "P1", status: str = "open",
            first_in: timedelta | None = None, resolution_in: timedelta = timedelta(hours=8),
            first_outcome: str = "pending", breached: bool = False) -> Ticket:
    return Ticket(id=ident, status=status, priority=priority, category="after_sales", team=team, channel="web",
                  customer_ref_hash="x", summary=ident, description="", created_at=NOW, updated_at=NOW,
                  first_response_due=format_time(NOW + first_in) if first_in is not None else None,
                  resolution_due=format_time(NOW + resolution_in), first_response_outcome=first_outcome,
                  breached=breached)


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
