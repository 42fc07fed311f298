"""The one set of functions that read and write the read model.

Writers are idempotent: activities are retried, so every write is an upsert keyed on what the
workflow decided (ticket id, subject + sequence number, batch number, claim id).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.encoding import parse_time
from domain.sla_clock import FIRST_RESPONSE, RESOLUTION
from domain.tickets import MilestoneView, RecordTicketInput
from readmodel.models import Milestone, Ticket
from readmodel.paging import page


class ChainConflict(RuntimeError):
    """A stored milestone differs from the one the workflow sends: the read model was altered."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def record_ticket(*, session: Session, record: RecordTicketInput) -> None:
    """Upserts the ticket row and appends milestones; a replayed call changes nothing."""
    snap = record.snapshot
    ticket = session.get(Ticket, record.ticket_id)
    if ticket is None:
        ticket = Ticket(
            id=record.ticket_id, status=snap.status, priority=snap.priority, category=snap.category,
            team=snap.team, channel=snap.channel, supplier=snap.supplier,
            customer_ref_hash=record.customer_ref_hash, summary=record.summary,
            description=record.description, created_at=(parse_time(snap.created_at)),
            updated_at=(parse_time(snap.created_at)),
        )
    # Recorded snapshots carried every milestone; newer ones carry none (the new ones come alongside).
    count = max(len(snap.milestones), record.milestones[-1].seq + 1 if record.milestones else 0)
    if count >= ticket.milestone_count:
        clocks = {c.name: c for c in snap.clocks}
        ticket.status = snap.status
        ticket.priority = snap.priority
        ticket.team = snap.team
        ticket.assignee = snap.assignee
        ticket.repeat_of = snap.repeat_of
        ticket.rating = snap.rating
        ticket.resolution_code = snap.resolution_code
        ticket.root_cause = snap.root_cause
        ticket.breached = bool(snap.breaches)
        if FIRST_RESPONSE in clocks:
            ticket.first_response_due = clocks[FIRST_RESPONSE].deadline
            ticket.first_response_outcome = clocks[FIRST_RESPONSE].outcome
        if RESOLUTION in clocks:
            ticket.resolution_due = clocks[RESOLUTION].deadline
            ticket.resolution_outcome = clocks[RESOLUTION].outcome
        ticket.milestone_count = count
        newest = (snap.milestones or record.milestones)[-1:]
        if newest:
            ticket.updated_at = (parse_time(newest[0].at))
    session.add(ticket)
    append_milestones(session=session, subject=record.ticket_id, milestones=record.milestones)
    session.commit()


def append_milestones(*, session: Session, subject: str, milestones: Sequence[MilestoneView]) -> None:
    """Inserts milestones not yet stored; an already stored one must be identical."""
    if not milestones:
        return
    seqs = [m.seq for m in milestones]
    existing = {
        row.seq: row
        for row in session.exec(
            select(Milestone).where(Milestone.subject == subject, col(Milestone.seq).in_(seqs))
        )
    }
    for m in milestones:
        row = existing.get(m.seq)
        if row is not None:
            if row.leaf != m.leaf:
                raise ChainConflict(f"{subject} milestone {m.seq}: stored leaf differs")
            continue
        session.add(Milestone(subject=subject, seq=m.seq, kind=m.kind, at=m.at, prev=m.prev, leaf=m.leaf,
                              data=json.dumps(m.data, sort_keys=True, separators=(",", ":"))))
    try:
        session.flush()
    except IntegrityError:
        # A concurrent retry inserted the same rows first; the caller's retry will see them.
        session.rollback()
        raise


def find_repeat_complaint(*, session: Session, ticket_id: str, customer_ref_hash: str, category: str,
                          opened_at: datetime, window: timedelta) -> str | None:
    """The most recent earlier ticket of the same customer and category inside the window."""
    since = _utc(opened_at - window)
    row = session.exec(
        select(Ticket.id)
        .where(Ticket.customer_ref_hash == customer_ref_hash, Ticket.category == category,
               Ticket.id != ticket_id, Ticket.created_at >= since,
               Ticket.created_at <= _utc(opened_at), Ticket.status != "cancelled")
        .order_by(col(Ticket.created_at).desc())
        .limit(1)
    ).first()
    return row


def get_ticket(*, session: Session, ticket_id: str) -> Ticket | None:
    return session.get(Ticket, ticket_id)


def list_tickets(*, session: Session, status: str | None = None, priority: str | None = None,
                 team: str | None = None, breached: bool | None = None, supplier: str | None = None,
                 offset: int = 0, limit: int = 50) -> tuple[list[Ticket], int]:
    filters = []
    if status is not None:
        filters.append(Ticket.status == status)
    if priority is not None:
        filters.append(Ticket.priority == priority)
    if team is not None:
        filters.append(Ticket.team == team)
    if supplier is not None:
        filters.append(Ticket.supplier == supplier)
    if breached is not None:
        filters.append(Ticket.breached == breached)
    return page(session, Ticket, filters, [col(Ticket.created_at).desc(), col(Ticket.id)], offset=offset, limit=limit)


def milestones_of(*, session: Session, subject: str) -> list[Milestone]:
    return list(session.exec(select(Milestone).where(Milestone.subject == subject)
                             .order_by(col(Milestone.seq))).all())
