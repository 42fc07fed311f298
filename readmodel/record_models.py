"""Read-model tables of the service record. Written only through readmodel/records.py.

The text of a ticket (description, replies, notes, reasons, the customer's rating comment) is kept
here sealed (AES-256-GCM, key from settings); the milestone that mentions it holds only its keyed
hash, so the chain and the certificates never carry the text and erasure never touches evidence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


# One text of a ticket, sealed; ``sealed`` becomes NULL when the text is erased.
class ServiceText(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("ticket_id", "text_hash", name="uq_servicetext_ticket_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(index=True, max_length=64)
    text_hash: str = Field(max_length=66)  # the keyed hash the milestone carries
    kind: str = Field(max_length=32)  # description | reply | note | reason | rating_comment
    actor: str = Field(max_length=128)
    key_id: str = Field(max_length=32)
    sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # base64(nonce|ct|tag)
    created_at: datetime
    erased_at: datetime | None = None


# One erasure request carried out: who asked, when, how many texts were destroyed.
class Erasure(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(index=True, max_length=64)
    request_ref: str = Field(max_length=128)
    erased_by: str = Field(max_length=128)
    erased_count: int
    at: datetime
