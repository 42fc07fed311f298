"""The read-model functions behave the same on the embedded SQLite default and on PostgreSQL.

SQLite goes through ``init_db`` (create_all, as the embedded default does); PostgreSQL through the
Alembic revisions, as production does, so these tests also prove the migrated schema works.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from domain.tickets import ClockView, MilestoneView, RecordTicketInput, TicketView
from readmodel import crud
from readmodel.db import get_engine, init_db
from readmodel.migrate import upgrade_to_head

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rm.db'}"
        init_db(url)
    else:
        new_pg_url: Callable[[], str] = request.getfixturevalue("new_pg_url")
        url = new_pg_url()
        upgrade_to_head(url)
    engine = get_engine(url)
    with Session(engine) as s:
        yield s
    # get_engine caches one engine per URL; close its pooled connections so PostgreSQL can stop.
    engine.dispose()


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _milestones(ticket_id: str, count: int, start: datetime) -> list[MilestoneView]:
    out: list[MilestoneView] = []
    prev = "0x" + "00" * 32
    for seq in range(count):
        leaf = "0x" + uuid.uuid5(uuid.NAMESPACE_URL, f"{ticket_id}/{seq}").hex * 2
        out.append(MilestoneView(seq=seq, kind="opened" if seq == 0 else "responded",
                                 at=_iso(start + timedelta(minutes=seq)), data={"n": str(seq)},
                                 prev=prev, leaf=leaf))
        prev = leaf
    return out


def record(ticket_id: str, *, at: datetime = T0, milestones: int = 1, status: str = "open",
           priority: str = "P3", team: str = "after-sales", category: str = "after_sales",
           customer: str = "cust-hash-1", supplier: str | None = None,
           breaches: list[str] | None = None) -> RecordTicketInput:
    ms = _milestones(ticket_id, milestones, at)
    view = TicketView(
        ticket_id=ticket_id, status=status, priority=priority, category=category, team=team, channel="web",
        supplier=supplier, assignee=None, created_at=_iso(at),
        clocks=[ClockView(name="first_response", target_seconds=1800, elapsed_seconds=0, remaining_seconds=1800,
                          paused_seconds=0, deadline=_iso(at + timedelta(minutes=30)), outcome="pending",
                          running=True)],
        milestones=ms, breaches=breaches or [], repeat_of=None, rating=None, resolution_code=None,
        root_cause=None, request_hash="", token_version=1,
    )
    return RecordTicketInput(ticket_id=ticket_id, snapshot=view, customer_ref_hash=customer,
                             summary="Router does not connect", description="描述 with non-ASCII text",
                             milestones=ms)


def test_record_ticket_is_idempotent(session: Session) -> None:
    rec = record("T-1", milestones=2)
    crud.record_ticket(session=session, record=rec)
    crud.record_ticket(session=session, record=rec)  # a retried activity
    ticket = crud.get_ticket(session=session, ticket_id="T-1")
    assert ticket is not None
    assert (ticket.milestone_count, ticket.description) == (2, "描述 with non-ASCII text")
    assert ticket.created_at == T0  # aware and in UTC on both engines
    assert [m.seq for m in crud.milestones_of(session=session, subject="T-1")] == [0, 1]

    # A newer snapshot extends; an older one replayed late does not roll the row back.
    crud.record_ticket(session=session, record=record("T-1", milestones=3, status="in_progress"))
    crud.record_ticket(session=session, record=rec)
    ticket = crud.get_ticket(session=session, ticket_id="T-1")
    assert ticket is not None and (ticket.status, ticket.milestone_count) == ("in_progress", 3)
    assert len(crud.milestones_of(session=session, subject="T-1")) == 3


def test_altered_milestone_is_refused(session: Session) -> None:
    crud.record_ticket(session=session, record=record("T-2", milestones=1))
    forged = record("T-2", milestones=1)
    forged.milestones[0].leaf = "0x" + "ab" * 32
    with pytest.raises(crud.ChainConflict):
        crud.record_ticket(session=session, record=forged)


def test_find_repeat_complaint_window_category_and_cancelled(session: Session) -> None:
    for rec in [
        record("OLD", at=T0 - timedelta(days=40)),                       # outside the 30-day window
        record("OTHER-CAT", at=T0 - timedelta(days=3), category="billing"),
        record("CANCELLED", at=T0 - timedelta(days=2), status="cancelled"),
        record("EARLIER", at=T0 - timedelta(days=10)),
        record("LATEST", at=T0 - timedelta(days=1)),
        record("OTHER-CUST", at=T0 - timedelta(hours=1), customer="cust-hash-2"),
        record("NEW", at=T0),
    ]:
        crud.record_ticket(session=session, record=rec)

    def find(**kw: object) -> str | None:
        args: dict[str, object] = {"ticket_id": "NEW", "customer_ref_hash": "cust-hash-1",
                                   "category": "after_sales", "opened_at": T0, "window": timedelta(days=30)}
        args.update(kw)
        return crud.find_repeat_complaint(session=session, **args)  # type: ignore[arg-type]

    assert find() == "LATEST"
    assert find(window=timedelta(hours=12)) is None
    assert find(category="billing") == "OTHER-CAT"
    assert find(customer_ref_hash="cust-hash-3") is None
    # A non-UTC opening time is the same instant: the comparison must not depend on the offset.
    assert find(opened_at=T0.astimezone(datetime.fromisoformat("2026-01-01T00:00+08:00").tzinfo)) == "LATEST"


def test_list_tickets_filters_order_and_count(session: Session) -> None:
    specs = [
        ("L-1", {"priority": "P1", "team": "network"}),
        ("L-2", {"priority": "P3", "breaches": ["first_response"]}),
        ("L-3", {"priority": "P3", "supplier": "acme", "status": "resolved"}),
        ("L-4", {"priority": "P1", "supplier": "acme", "breaches": ["resolution"]}),
    ]
    for i, (tid, kw) in enumerate(specs):
        crud.record_ticket(session=session, record=record(tid, at=T0 + timedelta(minutes=i), **kw))  # type: ignore[arg-type]

    rows, total = crud.list_tickets(session=session)
    assert ([r.id for r in rows], total) == (["L-4", "L-3", "L-2", "L-1"], 4)  # newest first
    assert [r.id for r in crud.list_tickets(session=session, priority="P1")[0]] == ["L-4", "L-1"]
    assert [r.id for r in crud.list_tickets(session=session, breached=True)[0]] == ["L-4", "L-2"]
    assert [r.id for r in crud.list_tickets(session=session, breached=False)[0]] == ["L-3", "L-1"]
    assert [r.id for r in crud.list_tickets(session=session, supplier="acme", status="resolved")[0]] == ["L-3"]
    assert crud.list_tickets(session=session, team="network")[1] == 1
    page, total = crud.list_tickets(session=session, offset=1, limit=2)
    assert ([r.id for r in page], total) == (["L-3", "L-2"], 4)


def test_sla_board_equals_its_definition(session: Session) -> None:
    # The board's walks and merge (readmodel/board.py, decision 030) on both databases: PostgreSQL
    # sorts a missing deadline last, SQLite first; either way the same as the one ORDER BY.
    import random

    from tests.console.test_board import check_board_against_its_definition, random_tickets

    session.add_all(random_tickets(random.Random(30), 400))
    session.commit()
    check_board_against_its_definition(session)
