"""Bodies of the observer panel's routes (rule 15)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas import CODE_PATTERN, RequestBody
from api.schemas.feedback import CONTACT_PATTERN, MAX_TEXT


class ObserverEnroll(RequestBody):
    name: str = Field(min_length=1, max_length=128)
    contact: str = Field(pattern=CONTACT_PATTERN, description="phone or e-mail (never shown)")


class ObserverOut(BaseModel):
    observer_id: str
    name: str
    term_ends_at: str
    active: bool
    token: str | None = Field(None, description="given once at enrolment: reviews and suggestions")


class ObserverList(BaseModel):
    data: list[ObserverOut]
    count: int


class SuggestionBody(RequestBody):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class ReviewBody(RequestBody):
    process: str = Field(pattern=CODE_PATTERN)
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


class RoundOut(BaseModel):
    quarter: str
    status: str
    invited: list[str]
    reviewed: dict[str, list[str]]
    reminders: int
    meeting: dict[str, object] | None
