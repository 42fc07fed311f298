"""Feedback in the read model: stored first, duplicates found, triage recorded, open tickets found."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.feedback import TriageDecision
from readmodel.feedback_models import Feedback, FeedbackErasure
from readmodel.models import Ticket
from readmodel.record_models import ServiceText
from readmodel.records import erase_texts

# A customer's ticket in one of these statuses takes feedback as an attachment.
OPEN_STATUSES = ("open", "acknowledged", "in_progress", "waiting_on_customer")


def store_feedback(*, session: Session, row: Feedback) -> Feedback:
    """Inserts the row; the same reference stored before is returned as it was (a retried intake)."""
    existing = session.get(Feedback, row.ref)
    if existing is not None:
        return existing
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        found = session.get(Feedback, row.ref)
        assert found is not None
        return found
    session.refresh(row)
    return row


def recent_original(*, session: Session, dedupe_key: str, since: datetime) -> Feedback | None:
    """The earliest non-duplicate feedback with this key received at or after ``since``."""
    return session.exec(select(Feedback).where(Feedback.dedupe_key == dedupe_key,
                                               col(Feedback.duplicate_of).is_(None),
                                               Feedback.received_at >= since)
                        .order_by(col(Feedback.received_at)).limit(1)).first()


def get_feedback(*, session: Session, ref: str) -> Feedback | None:
    return session.get(Feedback, ref)


def open_ticket_of(*, session: Session, customer_key: str) -> str | None:
    """The customer's most recently opened ticket that is still open, if any."""
    return session.exec(select(Ticket.id).where(Ticket.customer_ref_hash == customer_key,
                                                col(Ticket.status).in_(OPEN_STATUSES))
                        .order_by(col(Ticket.created_at).desc()).limit(1)).first()


def record_triage(*, session: Session, decision: TriageDecision) -> None:
    """Writes what triage decided (idempotent: the same decision written twice is one)."""
    row = session.get(Feedback, decision.ref)
    if row is None:
        raise LookupError(f"feedback {decision.ref} not stored")
    row.status, row.outcome, row.rule = "triaged", decision.outcome, decision.rule
    row.category, row.priority, row.team = decision.category or None, decision.priority or None, decision.team or None
    row.attached_to = decision.ticket_id if decision.outcome == "attached" else None
    row.triaged_at = row.triaged_at or datetime.now(UTC)
    session.add(row)
    session.commit()


def untriaged(*, session: Session, before: datetime, limit: int = 500) -> list[str]:
    """References stored before ``before`` that no triage has recorded (their workflow never started)."""
    return list(session.exec(select(Feedback.ref).where(Feedback.status == "received",
                                                        Feedback.received_at < before)
                             .order_by(col(Feedback.received_at)).limit(limit)).all())


def erasure_of(*, session: Session, ref: str) -> FeedbackErasure | None:
    return session.exec(select(FeedbackErasure).where(FeedbackErasure.ref == ref)
                        .order_by(col(FeedbackErasure.id)).limit(1)).first()


def erase_feedback(*, session: Session, row: Feedback, request_ref: str, erased_by: str, at: datetime,
                   note_hash: str) -> FeedbackErasure:
    """Destroys the feedback's sealed words and contact, and the texts it left in tickets, in one commit.

    The ticket it became loses every text (its description is the feedback) and its summary (the
    feedback's first line); a ticket it was attached to loses only the note with ``note_hash``.
    Hashes, milestones and anchors stay, so anchored evidence still verifies. On SQLite the freed
    bytes are overwritten and the write-ahead log emptied, so the words are not left in the file.
    """
    _secure_delete(session)
    # The same words sent again inside the window were stored as duplicates of this one: they go too.
    copies = session.exec(select(Feedback).where(Feedback.duplicate_of == row.ref)).all()
    for piece in (row, *copies):
        piece.sealed, piece.erased_at = "", at
        session.add(piece)
    texts = 0
    if row.outcome == "ticket":
        texts = int(session.exec(select(func.count()).select_from(ServiceText).where(
            ServiceText.ticket_id == row.ticket_id, col(ServiceText.sealed).is_not(None))).one())
        ticket = session.get(Ticket, row.ticket_id)
        if ticket is not None:
            ticket.summary = ""
            session.add(ticket)
    elif row.outcome == "attached" and row.attached_to and note_hash:
        for text in session.exec(select(ServiceText).where(ServiceText.ticket_id == row.attached_to,
                                                           ServiceText.text_hash == note_hash,
                                                           col(ServiceText.sealed).is_not(None))).all():
            text.sealed, text.erased_at = None, at
            session.add(text)
            texts += 1
    erasure = FeedbackErasure(ref=row.ref, request_ref=request_ref, erased_by=erased_by, ticket_texts=texts, at=at)
    session.add(erasure)
    if row.outcome == "ticket":
        # Commits everything above with the ticket's own erasure row (its record lists it).
        erase_texts(session=session, ticket_id=row.ticket_id, request_ref=request_ref, erased_by=erased_by, at=at)
    else:
        session.commit()
    session.refresh(erasure)
    _truncate_wal(session)
    return erasure


def _secure_delete(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")


def _truncate_wal(session: Session) -> None:
    """Copies the log into the file and empties it (older page images in it still hold the words)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        session.commit()
