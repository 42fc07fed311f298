"""The points ledger: accrue a month from the milestones, close it once, read it back."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from domain.encoding import format_time
from domain.milestones import MilestoneKind, new_milestone
from domain.points import (
    Entry,
    Event,
    PointsRules,
    derive_entries,
    evaluation_entries,
    ledger_root,
    month_bounds,
    rank_agents,
)
from domain.tickets import MilestoneView
from readmodel.crud import append_milestones
from readmodel.evaluation_models import Evaluation
from readmodel.models import Milestone, Ticket
from readmodel.paging import page
from readmodel.points_models import PointEntry, PointsMonth, PointsRank

# Milestone kinds the rules look at (assigned: who gets the points).
KINDS = ("assigned", "first_response", "resolved", "sla_breach", "confirmed")
READ_DATA = ("assigned", "sla_breach", "confirmed")  # the kinds whose data derive_entries reads
# Events that reached the read model after their month closed count in the next month.
LATE_WINDOW = timedelta(days=31)


def points_subject(month: str) -> str:
    return f"points-{month}"


def _histories(session: Session, since: datetime, end: datetime) -> dict[str, list[Event]]:
    """Each ticket with a rule's event in ``[since, end)``, with its chain up to ``end``.

    Streamed as plain rows (no row objects), reading data only where a rule looks at it.
    """
    m = Milestone.__table__.c  # type: ignore[attr-defined]
    relevant = (sa_select(m.subject).where(m.kind.in_(KINDS), m.at >= format_time(since), m.at < format_time(end))
                .distinct())
    rows = session.connection().execute(
        sa_select(m.subject, m.seq, m.kind, m.at, m.data)
        .where(m.subject.in_(relevant), m.kind.in_(KINDS), m.at < format_time(end)).order_by(m.subject, m.seq)
        .execution_options(yield_per=20_000))  # this statement streams; the session's next ones do not
    out: dict[str, list[Event]] = defaultdict(list)
    for subject, seq, kind, at, data in rows:
        out[subject].append(Event(subject, seq, kind, at, json.loads(data) if kind in READ_DATA else {}))
    return out


def _evaluation_entries(session: Session, since: datetime, end: datetime, rules: PointsRules) -> list[Entry]:
    """Mystery shoppers' evaluations of agents visited in ``[since, end)``."""
    rows = session.exec(select(Evaluation).where(
        Evaluation.target_kind == "agent", Evaluation.visited_at >= format_time(since),
        Evaluation.visited_at < format_time(end)))
    out: list[Entry] = []
    for e in rows:
        out += evaluation_entries(f"eval-{e.id}", e.target, e.visited_at, json.loads(e.scores), rules)
    return out


def _finding_entries(session: Session, since: datetime, end: datetime, rules: PointsRules) -> list[Entry]:
    """Spot-check findings recorded in ``[since, end)``, against the ticket's assignee."""
    out: list[Entry] = []
    rows = session.exec(select(Milestone).where(Milestone.kind == "spot_check_finding",
                                                Milestone.at >= format_time(since), Milestone.at < format_time(end)))
    for m in rows:
        data = json.loads(m.data)
        ticket = session.get(Ticket, data.get("ticket_id", ""))
        severity = data.get("severity", "")
        if ticket is None or not ticket.assignee or severity not in rules.spot_check_finding:
            continue
        out.append(Entry(agent=ticket.assignee, source_key=f"{m.subject}:{m.seq}:spot_check:{severity}",
                         rule=f"spot_check:{severity}", points=rules.spot_check_finding[severity],
                         ticket_id=ticket.id, event_at=m.at))
    return out


def _known(session: Session, since: datetime) -> set[str]:
    """Source keys already in the ledger for events from ``since`` on: such an entry sits in the month
    it closed with, never before its event's month, so the months from ``since``'s hold them all."""
    first = since.astimezone(UTC).strftime("%Y-%m")
    return set(session.exec(select(PointEntry.source_key).where(PointEntry.month >= first)).all())


def month_entries(session: Session, month: str) -> list[PointEntry]:
    return list(session.exec(select(PointEntry).where(PointEntry.month == month)
                             .order_by(col(PointEntry.source_key))).all())


def as_entries(rows: Iterable[PointEntry]) -> list[Entry]:
    return [Entry(r.agent, r.source_key, r.rule, r.points, r.ticket_id, r.event_at) for r in rows]


def close_month(*, session: Session, month: str, rules: PointsRules, top_percent: float) -> PointsMonth:
    """Appends the month's new entries, ranks, hashes the ledger and records its milestone: once.

    One transaction, so a crash leaves nothing half-closed; a closed month is returned as it is,
    which is what makes a retried activity or a second run add nothing.
    """
    closed = session.get(PointsMonth, month)
    if closed is not None:
        return closed
    start, end = month_bounds(month)
    fresh: list[Entry] = []
    for history in _histories(session, start - LATE_WINDOW, end).values():
        fresh += derive_entries(history, rules, start - LATE_WINDOW, end)
    fresh += _evaluation_entries(session, start - LATE_WINDOW, end, rules)
    fresh += _finding_entries(session, start - LATE_WINDOW, end, rules)
    known = _known(session, start - LATE_WINDOW)
    new: list[Entry] = []
    for e in fresh:
        if e.source_key not in known:
            known.add(e.source_key)
            new.append(e)
    ledger, ranked = PointEntry.__table__, PointsRank.__table__  # type: ignore[attr-defined]
    c = ledger.c
    entries = [Entry(*row) for row in session.execute(sa_select(
        c.agent, c.source_key, c.rule, c.points, c.ticket_id, c.event_at).where(c.month == month))] + new
    if new:  # plain multi-row inserts: a busy month is millions of lines
        session.connection().execute(insert(ledger), [
            {"month": month, "agent": e.agent, "source_key": e.source_key, "rule": e.rule, "points": e.points,
             "ticket_id": e.ticket_id, "event_at": e.event_at} for e in new])
    totals: dict[str, int] = defaultdict(int)
    for e in entries:
        totals[e.agent] += e.points
    ranks = rank_agents(dict(totals), top_percent)
    if ranks:
        session.connection().execute(insert(ranked), [
            {"month": month, "agent": r.agent, "total": r.total, "rank": r.rank, "flagged": r.flagged} for r in ranks])
    root = ledger_root(month, entries)
    # Stamped at the month's end, not the run's time: a second run would compute the same leaf.
    m = new_milestone(points_subject(month), None, MilestoneKind.POINTS_MONTH_CLOSED, end, {
        "month": month, "ledger_root": root, "entries": str(len(entries)), "agents": str(len(totals)),
        "rules_hash": rules.digest()})
    append_milestones(session=session, subject=m.subject, milestones=[MilestoneView(
        seq=m.seq, kind=m.kind, at=format_time(m.at), data=m.data, prev=m.prev, leaf=m.leaf)])
    closed = PointsMonth(month=month, ledger_root=root, entry_count=len(entries), agent_count=len(totals),
                         rules_hash=rules.digest(), milestone_leaf=m.leaf, closed_at=datetime.now(UTC))
    session.add(closed)
    session.commit()
    session.refresh(closed)
    return closed


def ranking(*, session: Session, month: str, offset: int = 0, limit: int = 50) -> tuple[list[PointsRank], int]:
    return page(session, PointsRank, [PointsRank.month == month],
                [col(PointsRank.rank), col(PointsRank.agent)], offset=offset, limit=limit)


def agent_entries(*, session: Session, month: str, agent: str) -> list[PointEntry]:
    return list(session.exec(select(PointEntry).where(PointEntry.month == month, PointEntry.agent == agent)
                             .order_by(col(PointEntry.source_key))).all())


def get_month(*, session: Session, month: str) -> PointsMonth | None:
    return session.get(PointsMonth, month)


def month_milestone(*, session: Session, month: str) -> Milestone | None:
    return session.exec(select(Milestone).where(Milestone.subject == points_subject(month),
                                                Milestone.seq == 0)).first()


def agent_rank(*, session: Session, month: str, agent: str) -> PointsRank | None:
    return session.get(PointsRank, (month, agent))
