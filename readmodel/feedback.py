"""Feedback in the read model: stored first, duplicates found, triage recorded, open tickets found."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.feedback import TriageDecision
from readmodel.feedback_models import Feedback
from readmodel.models import Ticket

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
