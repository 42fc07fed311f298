"""The directory of people, the alert inboxes and the record of each delivery.

Every write is idempotent on what the workflow decided (the alert's key), so a retried activity
finds its earlier work instead of repeating it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from readmodel.alert_models import Alert, AlertDelivery, Person
from readmodel.paging import page


def put_person(*, session: Session, person: Person) -> bool:
    """Creates or replaces a person; returns True when created."""
    existing = session.get(Person, person.id)
    if existing is None:
        session.add(person)
    else:
        for name in ("display_name", "email", "team", "role", "active", "updated_at"):
            setattr(existing, name, getattr(person, name))
        session.add(existing)
    session.commit()
    return existing is None


def get_person(*, session: Session, person_id: str) -> Person | None:
    return session.get(Person, person_id)


def list_people(*, session: Session, team: str | None = None, offset: int = 0,
                limit: int = 50) -> tuple[list[Person], int]:
    filters = [Person.team == team] if team is not None else []
    return page(session, Person, filters, [col(Person.id)], offset=offset, limit=limit)


def record_alert(*, session: Session, key: str, recipient: str, subject_id: str, kind: str, message: str,
                 details: dict[str, str], at: datetime) -> None:
    """Puts the alert in its recipient's inbox once."""
    if session.get(Alert, key) is not None:
        return
    session.add(Alert(idempotency_key=key, recipient=recipient, subject_id=subject_id, kind=kind, message=message,
                      details=json.dumps(details, sort_keys=True, separators=(",", ":")), created_at=at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent attempt stored it first


def inbox(*, session: Session, recipient: str, offset: int = 0, limit: int = 50) -> tuple[list[Alert], int]:
    return page(session, Alert, [Alert.recipient == recipient],
                [col(Alert.created_at).desc(), col(Alert.idempotency_key)], offset=offset, limit=limit)


def delivered(*, session: Session, key: str, channel: str) -> AlertDelivery | None:
    return session.exec(select(AlertDelivery).where(AlertDelivery.idempotency_key == key,
                                                    AlertDelivery.channel == channel)).first()


def deliveries_of(*, session: Session, key: str) -> list[AlertDelivery]:
    return list(session.exec(select(AlertDelivery).where(AlertDelivery.idempotency_key == key)
                             .order_by(col(AlertDelivery.id))))


def mark_delivered(*, session: Session, key: str, channel: str, address: str, message_id: str,
                   at: datetime) -> None:
    if delivered(session=session, key=key, channel=channel) is not None:
        return
    session.add(AlertDelivery(idempotency_key=key, channel=channel, address=address, message_id=message_id,
                              sent_at=at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
