"""Bodies of the feedback routes (rule 14) and the customer's self-service answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import RequestBody

# The longest text any channel takes; the policy's max_text_chars may set a lower one.
MAX_TEXT = 20_000
CONTACT_PATTERN = r"^[^\s<>]{3,128}$"


class FeedbackBody(RequestBody):
    """Public feedback from the app or the web site: no key needed."""

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="what the customer wants to say")
    contact: str = Field(pattern=CONTACT_PATTERN, description="phone number or e-mail address (never shown)")
    kind: Literal["complaint", "request", "suggestion", ""] = Field("", description="the sender's own label")
    channel: Literal["web", "app"] = "web"
    language: Literal["zh", "en"] = "zh"


class BranchFeedbackBody(RequestBody):
    """Feedback a branch's staff member records on a customer's behalf (with their API key)."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    customer_ref: str = Field(min_length=1, max_length=128, description="the customer's reference or phone number")
    kind: Literal["complaint", "request", "suggestion", ""] = ""
    language: Literal["zh", "en"] = "zh"


class FeedbackReceipt(BaseModel):
    reference: str = Field(description="the feedback's reference (the first one's, for a duplicate)")
    duplicate: bool = Field(description="the same words from the same contact inside the window: not triaged again")
    status: str
    follow_url: str = Field(description="the page where the customer follows it (carries their token)")
    customer_token: str = Field(description="the per-ticket customer token of the ticket it may become")
    received_at: str


class FeedbackStatus(BaseModel):
    reference: str
    status: Literal["received", "triaged", "duplicate"]
    outcome: Literal["ticket", "attached", "suggestion", "spam"] | None
    channel: str
    received_at: str
    ticket_id: str | None = Field(description="the ticket it became (outcome ticket), else null")
    erased_at: str | None = Field(None, description="when its words and contact were erased on request, else null")


class FeedbackErasureView(BaseModel):
    """One feedback erasure carried out (the audit row): who, what, when; never the words."""

    reference: str
    request_ref: str
    erased_by: str
    ticket_texts: int = Field(description="texts of the ticket it became, or its note on the one it joined")
    at: str


class CustomerReplyBody(RequestBody):
    text: str = Field(min_length=1, max_length=5000)
