"""Read-model tables of the governance processes. Written only through readmodel/governance.py.

Imported by readmodel/governance.py (and through it by the activities and the API); readmodel/db.py's
``init_db`` must import this module too so ``create_all`` creates the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


# A joint meeting as the quality department lists it; the workflow is the source of truth.
class Meeting(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    category: str = Field(index=True, max_length=64)
    status: str = Field(index=True, max_length=16)
    round: int = 1
    departments: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    submitted: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    opened_at: datetime = Field(index=True)
    due_at: str = Field(max_length=40)
    breached: bool = Field(default=False, index=True)
    solved_at: str | None = Field(default=None, max_length=40)
    verify_at: str | None = Field(default=None, max_length=40)
    root_cause: str | None = Field(default=None, max_length=200)
    milestone_count: int = 0
    updated_at: datetime


# A ticket linked to a joint meeting (escalated into it).
class MeetingTicket(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("meeting_id", "ticket_id", name="uq_meeting_ticket"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: str = Field(index=True, max_length=64)
    ticket_id: str = Field(index=True, max_length=64)


# A supplier and its running total; the supplier workflow is the source of truth.
class Supplier(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    contract_value: int
    currency: str = Field(max_length=3)
    status: str = Field(index=True, max_length=16)
    total: int = 0
    deduction_count: int = 0
    exit_started_at: str | None = Field(default=None, max_length=40)
    appeal_due: str | None = Field(default=None, max_length=40)
    decision: str | None = Field(default=None, max_length=16)
    open_tickets: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    reassigned: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON map
    runs: int = 1
    tip_seq: int = -1  # newest chain link reflected in this row (rows never go backwards)
    updated_at: datetime


# One deduction; the incident id is unique across all suppliers, so no incident deducts twice.
class Deduction(SQLModel, table=True):
    incident_id: str = Field(primary_key=True, max_length=100)
    supplier_id: str = Field(index=True, max_length=64)
    severity: str = Field(max_length=32)
    amount: int
    ticket_id: str = Field(default="", index=True, max_length=64)
    at: str = Field(max_length=40)
    leaf: str = Field(max_length=66)
    after_exit: bool = False
