"""Read-model activities of the ticket workflow."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from domain.encoding import parse_time
from domain.tickets import RecordTicketInput, RepeatQuery
from readmodel import crud
from readmodel.db import session_scope


class TicketActivities:
    """Activities bound to one read-model database."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    @activity.defn(name="record_ticket")
    def record_ticket(self, record: RecordTicketInput) -> None:
        """Upserts the ticket and appends its new milestones (idempotent on subject + seq)."""
        with session_scope(self.db_url) as session:
            crud.record_ticket(session=session, record=record)

    @activity.defn(name="find_repeat_complaint")
    def find_repeat_complaint(self, query: RepeatQuery) -> str:
        """Returns the id of an earlier ticket that makes this one a repeat complaint, or ''."""
        with session_scope(self.db_url) as session:
            found = crud.find_repeat_complaint(
                session=session, ticket_id=query.ticket_id, customer_ref_hash=query.customer_ref_hash,
                category=query.category,
                opened_at=parse_time(query.opened_at),
                window=timedelta(seconds=query.window_seconds))
        return found or ""
