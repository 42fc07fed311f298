"""Activities of the governance workflows: read-model writes, effect measurement, ticket listing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from domain.governance import EffectQuery, EffectResult, OpenTicketsQuery, RecordMeetingInput, RecordSupplierInput
from readmodel import governance as crud
from readmodel.db import session_scope


class GovernanceActivities:
    """Activities bound to one read-model database."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    @activity.defn(name="record_meeting")
    def record_meeting(self, record: RecordMeetingInput) -> None:
        """Upserts the meeting and appends its new milestones (idempotent on subject + seq)."""
        with session_scope(self.db_url) as session:
            crud.record_meeting(session=session, record=record)

    @activity.defn(name="measure_meeting_effect")
    def measure_meeting_effect(self, query: EffectQuery) -> EffectResult:
        """Repeat-complaint and reopen rates of the meeting's category before and after its solution and,
        for a meeting opened from a proposal, the problem's share of failures (found by meeting id)."""
        with session_scope(self.db_url) as session:
            return crud.measure_effect(session=session, query=query)

    @activity.defn(name="record_supplier")
    def record_supplier(self, record: RecordSupplierInput) -> None:
        """Upserts the supplier, inserts deductions (unique incident id) and appends milestones."""
        with session_scope(self.db_url) as session:
            crud.record_supplier(session=session, record=record)

    @activity.defn(name="list_supplier_open_tickets")
    def list_supplier_open_tickets(self, query: OpenTicketsQuery) -> list[str]:
        """Ids of the supplier's tickets that are neither closed nor cancelled."""
        with session_scope(self.db_url) as session:
            return crud.supplier_open_tickets(session=session, supplier_id=query.supplier_id)

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_meeting, self.measure_meeting_effect, self.record_supplier,
                self.list_supplier_open_tickets]
