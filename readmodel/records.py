"""The service record in the read model: sealed texts, the evidence timeline, erasure.

Sealing and opening happen above this module (services/service_record.py): here texts are opaque.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from readmodel.cases import erase_ticket_cases
from readmodel.models import AnchorBatch, Milestone, Ticket
from readmodel.record_models import Erasure, ServiceText


def store_text(*, session: Session, row: ServiceText) -> bool:
    """Stores a sealed text once per (ticket, hash); returns False when it was already there."""
    existing = session.exec(select(ServiceText).where(
        ServiceText.ticket_id == row.ticket_id, ServiceText.text_hash == row.text_hash)).first()
    if existing is not None:
        return False  # stored before, or erased: a retried command never brings erased text back
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent retry stored it first
        return False
    return True


def drop_text(*, session: Session, ticket_id: str, text_hash: str) -> None:
    """Removes a text whose command was refused (it belongs to no milestone)."""
    row = session.exec(select(ServiceText).where(
        ServiceText.ticket_id == ticket_id, ServiceText.text_hash == text_hash)).first()
    if row is not None:
        session.delete(row)
        session.commit()


def texts_of(*, session: Session, ticket_id: str) -> list[ServiceText]:
    return list(session.exec(select(ServiceText).where(ServiceText.ticket_id == ticket_id)
                             .order_by(col(ServiceText.id))).all())


@dataclass
class TimelineRow:
    """A milestone with where (and whether) it was anchored."""

    milestone: Milestone
    batch: AnchorBatch | None


def timeline_of(*, session: Session, ticket_id: str) -> tuple[Ticket | None, list[TimelineRow]]:
    """The ticket row and its milestones in chain order, each with its anchor batch if any."""
    ticket = session.get(Ticket, ticket_id)
    rows = session.exec(
        select(Milestone, AnchorBatch)
        .join(AnchorBatch, col(AnchorBatch.batch_no) == col(Milestone.batch_no), isouter=True)
        .where(Milestone.subject == ticket_id).order_by(col(Milestone.seq))).all()
    return ticket, [TimelineRow(m, b) for m, b in rows]


def erasures_of(*, session: Session, ticket_id: str) -> list[Erasure]:
    return list(session.exec(select(Erasure).where(Erasure.ticket_id == ticket_id).order_by(col(Erasure.id))))


def erase_texts(*, session: Session, ticket_id: str, request_ref: str, erased_by: str, at: datetime) -> Erasure:
    """Destroys every text of the ticket (ciphertext and the ticket's plain description), in one commit.

    Milestones, proofs and anchors are not touched: they hold keyed hashes only, so the evidence
    still verifies and no longer leads to any text.
    """
    rows: Sequence[ServiceText] = session.exec(select(ServiceText).where(
        ServiceText.ticket_id == ticket_id, col(ServiceText.sealed).is_not(None))).all()
    for row in rows:
        row.sealed = None
        row.erased_at = at
        session.add(row)
    erase_ticket_cases(session, ticket_id)  # the case library's quotes of the ticket's text
    ticket = session.get(Ticket, ticket_id)
    if ticket is not None and ticket.description:
        ticket.description = ""  # tickets opened before the service record kept it in clear
        session.add(ticket)
    erasure = Erasure(ticket_id=ticket_id, request_ref=request_ref, erased_by=erased_by,
                      erased_count=len(rows), at=at)
    session.add(erasure)
    session.commit()
    session.refresh(erasure)
    return erasure
