"""Read-model tables of alerting: the directory of people, each alert once, each delivery once.

Written only through readmodel/alerts.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


# Someone alerts can reach: an agent, a team head, a member of the quality committee.
class Person(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)  # what the policy names (e.g. "after-sales-head")
    display_name: str = Field(max_length=128)
    email: str = Field(max_length=254)
    team: str = Field(default="", index=True, max_length=64)
    role: str = Field(max_length=32)
    active: bool = True
    updated_at: datetime


# One alert, once: the inbox of its recipient. The key is the workflow's (subject and sequence).
class Alert(SQLModel, table=True):
    idempotency_key: str = Field(primary_key=True, max_length=160)
    recipient: str = Field(index=True, max_length=64)
    subject_id: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=40)
    message: str = Field(sa_column=Column(Text, nullable=False))
    details: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    created_at: datetime = Field(index=True)


# One channel's delivery of one alert; its row is what stops a retried activity from sending twice.
class AlertDelivery(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("idempotency_key", "channel", name="uq_alertdelivery_key_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(index=True, max_length=160)
    channel: str = Field(max_length=16)  # email | webhook
    address: str = Field(max_length=254)
    message_id: str = Field(default="", max_length=200)
    sent_at: datetime
