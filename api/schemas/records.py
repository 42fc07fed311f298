"""Bodies and answers of the service-record routes (timeline, erasure)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas import RequestBody


class RecordText(BaseModel):
    """A text of the ticket: ``text`` is null once erased (``erased``) or when it cannot be opened."""

    kind: str
    actor: str
    text_hash: str
    recorded_at: str
    text: str | None
    erased: bool
    hash_matches: bool | None = Field(description="the text's keyed hash equals the milestone's (null if erased)")


class RecordEvidence(BaseModel):
    status: str = Field(description="anchored | pending")
    batch_no: int | None
    root: str | None
    tx_hash: str | None
    block_number: int | None


class RecordEntry(BaseModel):
    seq: int
    kind: str
    at: str
    actor: str
    data: dict[str, str]
    leaf: str
    texts: list[RecordText]
    evidence: RecordEvidence


class RecordClock(BaseModel):
    name: str
    due: str | None
    outcome: str


class RecordTicket(BaseModel):
    ticket_id: str
    status: str
    priority: str
    category: str
    team: str
    assignee: str | None
    rating: int | None
    clocks: list[RecordClock]


class ErasureView(BaseModel):
    request_ref: str
    erased_by: str
    erased_count: int
    at: str


class ServiceRecordView(BaseModel):
    """A ticket's whole record as one timeline: milestones in chain order with their texts and anchors."""

    ticket: RecordTicket | None
    entries: list[RecordEntry]
    erasures: list[ErasureView]


class ErasureBody(RequestBody):
    request_ref: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:#/-]*$",
                             description="the data subject's request reference (no personal data)")
