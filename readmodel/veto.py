"""The quality veto in the read model: each team-year's status, and where major complaints come from."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from domain.veto import RESOLUTION_BREACH, MajorComplaint, RecordVetoInput
from readmodel.crud import append_milestones
from readmodel.models import Milestone, Ticket
from readmodel.paging import page
from readmodel.veto_models import VetoStatus


def record_veto(*, session: Session, record: RecordVetoInput) -> None:
    """Upserts the team-year and appends its milestones; a replayed call changes nothing."""
    v = record.view
    row = session.get(VetoStatus, (v.team, v.year))
    if row is None:
        row = VetoStatus(team=v.team, year=v.year, threshold=v.threshold, count=0, eligible=True, complaints="[]",
                         updated_at=datetime.now(UTC))
    if v.count >= row.count:  # an older snapshot never overwrites a newer one
        row.threshold, row.count, row.eligible, row.crossed_at = v.threshold, v.count, v.eligible, v.crossed_at
        row.complaints = json.dumps([asdict(c) for c in v.complaints], sort_keys=True)
        row.updated_at = datetime.now(UTC)
    session.add(row)
    if record.milestones:
        append_milestones(session=session, subject=f"veto-{v.team}-{v.year}", milestones=record.milestones)
    session.commit()


def get_status(*, session: Session, team: str, year: int) -> VetoStatus | None:
    return session.get(VetoStatus, (team, year))


def list_status(*, session: Session, year: int, offset: int = 0, limit: int = 50) -> tuple[list[VetoStatus], int]:
    return page(session, VetoStatus, [VetoStatus.year == year], [col(VetoStatus.team)], offset=offset, limit=limit)


def resolution_breaches(*, session: Session, since: str, until: str, categories: list[str]) -> list[MajorComplaint]:
    """Resolution breaches recorded in ``[since, until)`` on tickets of the given categories."""
    rows = session.exec(
        select(Milestone, Ticket).join(Ticket, col(Ticket.id) == col(Milestone.subject))
        .where(Milestone.kind == "sla_breach", Milestone.at >= since, Milestone.at < until,
               col(Ticket.category).in_(categories))
        .order_by(col(Milestone.at), col(Milestone.subject)))
    out: list[MajorComplaint] = []
    for m, ticket in rows:
        if json.loads(m.data).get("clock") != "resolution":
            continue
        out.append(MajorComplaint(team=ticket.team, source_key=f"{m.subject}:{RESOLUTION_BREACH}",
                                  kind=RESOLUTION_BREACH, ticket_id=m.subject, at=m.at))
    return out
