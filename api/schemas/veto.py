"""Bodies and answers of the quality-veto routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from api.schemas import CODE_PATTERN, ID_PATTERN, RequestBody

Year = Annotated[int, Path(ge=2000, le=2100, description="calendar year")]
Team = Annotated[str, Path(pattern=CODE_PATTERN, description="team code")]


class ComplaintView(BaseModel):
    source_key: str
    kind: str = Field(description="resolution_breach | upheld")
    ticket_id: str
    at: str
    actor: str


class VetoStatusView(BaseModel):
    team: str
    year: int
    threshold: int
    count: int
    eligible: bool = Field(description="false once the count reached the threshold this year")
    crossed_at: str | None = Field(description="when the line was crossed")
    complaints: list[ComplaintView]


class VetoPage(BaseModel):
    data: list[VetoStatusView]
    count: int
    offset: int
    limit: int


class UpholdBody(RequestBody):
    ticket_id: str = Field(pattern=ID_PATTERN, description="the complaint's ticket")


class UpholdAccepted(BaseModel):
    source_key: str
    counted_in: str = Field(description="the team-year workflow that counts it (once)")
