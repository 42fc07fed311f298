"""Request and response bodies of the ticket API (field limits are the first line of validation)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.tickets import TicketView

Channel = Literal["app", "web", "branch", "phone", "email"]
Priority = Literal["P1", "P2", "P3", "P4"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TicketCreate(_Body):
    ticket_id: str | None = Field(None, pattern=ID_PATTERN, description="client-chosen id (idempotency)")
    customer_ref: str = Field(min_length=1, max_length=128, description="customer reference (never on chain)")
    channel: Channel
    category: str = Field(pattern=CODE_PATTERN)
    priority: Priority = "P3"
    team: str = Field(pattern=CODE_PATTERN)
    supplier: str | None = Field(None, pattern=CODE_PATTERN)
    summary: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)


class TicketCreated(BaseModel):
    ticket: TicketView
    customer_token: str = Field(description="give to the customer: confirms, rates, asks to reopen")
    created: bool


class AssignBody(_Body):
    assignee: str = Field(min_length=1, max_length=128)


class RespondBody(_Body):
    message: str = Field("", max_length=5000)


class NoteBody(_Body):
    text: str = Field(min_length=1, max_length=5000)


class ReasonBody(_Body):
    reason: str = Field("", max_length=500)


class CancelBody(_Body):
    reason: Literal["duplicate", "spam"]


class PriorityBody(_Body):
    priority: Priority
    reason: str = Field("", max_length=500)


class ResolveBody(_Body):
    resolution_code: str = Field(pattern=CODE_PATTERN)
    root_cause: str = Field(pattern=CODE_PATTERN)
    note: str = Field("", max_length=5000)


class ConfirmBody(_Body):
    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


class EscalateBody(_Body):
    to_team: str = Field(pattern=CODE_PATTERN)
    reason: str = Field(min_length=1, max_length=500)


class PolicyBody(_Body):
    policy_toml: str = Field(min_length=1, max_length=60_000, description="a whole policy file (TOML)")


class TicketRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    priority: str
    category: str
    team: str
    channel: str
    supplier: str | None
    assignee: str | None
    summary: str
    created_at: str
    first_response_due: str | None
    resolution_due: str | None
    first_response_outcome: str
    resolution_outcome: str
    breached: bool
    repeat_of: str | None
    rating: int | None


class TicketPage(BaseModel):
    data: list[TicketRow]
    count: int
    offset: int
    limit: int


class Problem(BaseModel):
    detail: str | list[dict[str, object]]
