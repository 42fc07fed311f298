"""Read-model tables of feedback (rule 14) and the observer panel (rule 15).

Written only through ``readmodel/feedback.py`` and ``readmodel/observers.py``. A feedback row is
stored before anything else happens to it (its text sealed, as the service record's texts are), so
nothing a customer sends is lost whatever fails after; its triage fills the rest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


# One piece of feedback from any channel, as received; triage fills outcome and what it became.
class Feedback(SQLModel, table=True):
    ref: str = Field(primary_key=True, max_length=64)
    channel: str = Field(index=True, max_length=16)  # web | app | branch | email | observer
    kind_asked: str = Field(default="", max_length=16)
    language: str = Field(default="zh", max_length=8)
    customer_key: str = Field(index=True, max_length=80)  # customer_match_hash: never served
    dedupe_key: str = Field(index=True, max_length=64)
    duplicate_of: str | None = Field(default=None, max_length=64)
    text_hash: str = Field(max_length=66)
    key_id: str = Field(max_length=32)
    sealed: str = Field(sa_column=Column(Text, nullable=False))  # base64(nonce|ciphertext|tag)
    spam_score: int = 0
    status: str = Field(default="received", index=True, max_length=16)  # received | triaged | duplicate
    outcome: str | None = Field(default=None, max_length=16)  # ticket | attached | suggestion | spam
    rule: str | None = Field(default=None, max_length=80)
    ticket_id: str = Field(max_length=64)  # the ticket it becomes if it becomes one (fixed at intake)
    attached_to: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64)
    priority: str | None = Field(default=None, max_length=8)
    team: str | None = Field(default=None, max_length=64)
    submitted_by: str = Field(max_length=128)  # "public", "email" or the staff key's id
    observer_id: str | None = Field(default=None, index=True, max_length=64)
    received_at: datetime = Field(index=True)
    triaged_at: datetime | None = None
    # Personal-data erasure: ``sealed`` is emptied (text, subject, contact destroyed); hashes stay.
    erased_at: datetime | None = None


# One feedback erasure carried out: who asked, when, and how many texts of its tickets went with it.
class FeedbackErasure(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(index=True, max_length=64)
    request_ref: str = Field(max_length=128)
    erased_by: str = Field(max_length=128)
    ticket_texts: int  # service-record texts of the ticket it became, or its note on the one it joined
    at: datetime


# A customer enrolled on the observer panel for a term.
class Observer(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    customer_key: str = Field(index=True, max_length=80)
    name: str = Field(max_length=128)
    enrolled_at: datetime
    term_ends_at: datetime = Field(index=True)
    active: bool = Field(default=True, index=True)


# One quarter's review round: who was invited, reminded, reviewed, and the meeting record.
class ObserverRound(SQLModel, table=True):
    quarter: str = Field(primary_key=True, max_length=8)  # YYYY-Qn
    status: str = Field(max_length=16)  # inviting | collecting | met
    invited: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of observer ids
    reminders: int = 0
    meeting: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON record
    updated_at: datetime


# One observer's review of one service process in a quarter.
class ObserverReview(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("quarter", "observer_id", "process", name="uq_observerreview"),)

    id: int | None = Field(default=None, primary_key=True)
    quarter: str = Field(index=True, max_length=8)
    observer_id: str = Field(max_length=64)
    process: str = Field(max_length=64)
    score: int
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: datetime
