"""Bodies and answers of the joint-meeting routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field, field_validator

from api.schemas import RequestBody

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Ids are checked before they reach Temporal, which would refuse an odd one as a server error.
MeetingId = Annotated[str, Path(pattern=ID_PATTERN, description="meeting id")]


class MeetingCreate(RequestBody):
    meeting_id: str | None = Field(None, pattern=ID_PATTERN, description="client-chosen id (idempotency)")
    title: str = Field(min_length=1, max_length=200)
    problem: str = Field(min_length=1, max_length=5000, description="problem statement (kept off chain)")
    category: str = Field(pattern=CODE_PATTERN, description="ticket category whose rates verify the solution")
    departments: list[Annotated[str, Field(pattern=CODE_PATTERN)]] = Field(min_length=1, max_length=20)
    linked_tickets: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(default_factory=list, max_length=100,
                                                                           description="escalated tickets")

    @field_validator("departments", "linked_tickets")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("entries must be unique")
        return values


class AnalysisBody(RequestBody):
    department: str = Field(pattern=CODE_PATTERN)
    analysis: str = Field(min_length=1, max_length=10_000)


class ActionBody(RequestBody):
    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=128)
    due: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}", max_length=40, description="ISO date")


class SolutionBody(RequestBody):
    root_cause: str = Field(min_length=1, max_length=200)
    actions: list[ActionBody] = Field(min_length=1, max_length=50)


class LinkBody(RequestBody):
    ticket_id: str = Field(pattern=ID_PATTERN)


class MeetingRow(BaseModel):
    id: str
    title: str
    category: str
    status: str
    round: int
    opened_at: str
    due_at: str
    breached: bool
    solved_at: str | None
    verify_at: str | None


class MeetingPage(BaseModel):
    data: list[MeetingRow]
    count: int
    offset: int
    limit: int
