"""Request and response bodies of the ticket API (field limits are the first line of validation)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.json_limits import has_lone_surrogate
from domain.tickets import Channel, Priority, TicketView

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


# Query parameters compared with stored text: a NUL byte would make PostgreSQL fail the query (500).
NO_NUL = r"^[^\x00]*$"


class RequestBody(BaseModel):
    """Base of every request body: unknown fields and NUL characters are refused (422 naming the field)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text: the read-model write would fail and retry forever.
        # A lone surrogate (JSON "\ud800") cannot be encoded as UTF-8 at all: not stored, not shown.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("must not contain NUL characters")
        if any(isinstance(t, str) and has_lone_surrogate(t) for t in texts):
            raise ValueError("must not contain lone UTF-16 surrogates (not encodable as UTF-8)")
        return value


class TicketCreate(RequestBody):
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
    customer_token: str | None = Field(description=(
        "give to the customer: confirms, rates, asks to reopen; null on a replayed create once the token "
        "was revoked, or from a ticket created before decision 010 (the revoke hands out the current one)"))
    created: bool


class AssignBody(RequestBody):
    assignee: str = Field(min_length=1, max_length=128)


class RespondBody(RequestBody):
    message: str = Field("", max_length=5000)


class NoteBody(RequestBody):
    text: str = Field(min_length=1, max_length=5000)


class ReasonBody(RequestBody):
    reason: str = Field("", max_length=500)


class CancelBody(RequestBody):
    reason: Literal["duplicate", "spam"]


class PriorityBody(RequestBody):
    priority: Priority
    reason: str = Field("", max_length=500)


class ResolveBody(RequestBody):
    resolution_code: str = Field(pattern=CODE_PATTERN)
    root_cause: str = Field(pattern=CODE_PATTERN)
    note: str = Field("", max_length=5000)


class ConfirmBody(RequestBody):
    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


class EscalateBody(RequestBody):
    to_team: str = Field(pattern=CODE_PATTERN)
    reason: str = Field(min_length=1, max_length=500)


class PolicyBody(RequestBody):
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


class Health(BaseModel):
    """Readiness: ``ok`` or ``down: <reason>`` for Temporal, the database and the chain."""

    status: Literal["ok", "degraded"]
    checks: dict[str, str]


class Problem(BaseModel):
    """The JSON body of every error answer except request validation (422, FastAPI's list shape)."""

    # Extra keys stay allowed: a 409 from /verify also names the current certificate digest.
    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="what is wrong, in words")


ERROR_TEXT: dict[int, str] = {
    400: "the body cannot be read: not UTF-8 JSON text, or not what this endpoint takes",
    401: "missing or unknown credentials (X-API-Key, or the customer token where one is accepted)",
    403: "the credentials are valid but may not do this (role, or a token for another ticket)",
    404: "no such ticket, meeting, supplier or voucher",
    409: "conflicts with the current state: a step the workflow refuses, an id already used",
    413: "request body larger than the limit (64 KiB; 1 MiB for /verify and /codec)",
    429: "too many requests from this address on a public route; retry after Retry-After seconds",
    503: "a service behind the API (Temporal, the chain) cannot answer now; retry later",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, all with the :class:`Problem` body.

    Documented per route so clients (and the schema fuzz test) know every status a route can
    answer; 422 needs no entry, FastAPI documents its validation shape on every route with input.
    """
    return {code: {"model": Problem, "description": ERROR_TEXT[code]} for code in codes}


_PROBLEM_JSON: dict[str, Any] = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def page_problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``problems()`` for routes that answer pages: their errors are still JSON ``Problem`` bodies
    (a route with ``response_class=HTMLResponse`` would otherwise document them as HTML)."""
    return {code: {**answer, "content": _PROBLEM_JSON} for code, answer in problems(*codes).items()}


# The usual sets: who may call, what a body adds, and what a workflow-backed route adds.
AUTH = (401, 403)
BODY = (400, 413)
WORKFLOW = (404, 409, 503)
