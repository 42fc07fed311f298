"""The observer panel in the read model: enrolment (cap and term), rounds, reviews."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.observers import ReviewInput, RoundRecord
from readmodel.feedback_models import Observer, ObserverReview, ObserverRound


class PanelFull(RuntimeError):
    """The panel has its policy's number of active observers."""


def active_observers(*, session: Session, at: datetime, limit: int) -> list[Observer]:
    return list(session.exec(select(Observer).where(col(Observer.active).is_(True), Observer.term_ends_at > at)
                             .order_by(col(Observer.enrolled_at)).limit(limit)).all())


def enroll(*, session: Session, observer: Observer, cap: int) -> Observer:
    """Enrols (or renews the term of) an observer; PanelFull when ``cap`` active others are enrolled."""
    existing = session.get(Observer, observer.id)
    now = observer.enrolled_at
    active = session.exec(select(func.count()).select_from(Observer).where(
        col(Observer.active).is_(True), Observer.term_ends_at > now, Observer.id != observer.id)).one()
    if active >= cap:
        raise PanelFull(f"the panel already has {active} active observers (policy max_active {cap})")
    if existing is not None:
        existing.name, existing.customer_key, existing.term_ends_at, existing.active = (
            observer.name, observer.customer_key, observer.term_ends_at, True)
        observer = existing
    session.add(observer)
    session.commit()
    session.refresh(observer)
    return observer


def get_observer(*, session: Session, observer_id: str) -> Observer | None:
    return session.get(Observer, observer_id)


def record_round(*, session: Session, record: RoundRecord) -> None:
    row = session.get(ObserverRound, record.quarter) or ObserverRound(
        quarter=record.quarter, status=record.status, invited="[]", updated_at=datetime.now(UTC))
    row.status, row.invited, row.reminders = record.status, json.dumps(record.invited), record.reminders
    row.meeting = record.meeting or row.meeting
    row.updated_at = datetime.now(UTC)
    session.add(row)
    session.commit()


def record_review(*, session: Session, quarter: str, review: ReviewInput, at: datetime) -> None:
    """Stores one review (idempotent on quarter, observer and process)."""
    session.add(ObserverReview(quarter=quarter, observer_id=review.observer_id, process=review.process,
                               score=review.score, comment=review.comment, at=at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


def round_of(*, session: Session, quarter: str) -> tuple[ObserverRound | None, list[ObserverReview]]:
    reviews = session.exec(select(ObserverReview).where(ObserverReview.quarter == quarter)
                           .order_by(col(ObserverReview.id))).all()
    return session.get(ObserverRound, quarter), list(reviews)


def open_round_of(*, session: Session, observer_id: str) -> str | None:
    """The newest quarter whose round invited the observer and has not met yet (reviews still taken)."""
    rounds = session.exec(select(ObserverRound).where(ObserverRound.status != "met")
                          .order_by(col(ObserverRound.quarter).desc())).all()
    return next((r.quarter for r in rounds if observer_id in json.loads(r.invited)), None)
