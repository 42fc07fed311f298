"""Answers of the personal-points routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

Month = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
AgentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$", description="agent (assignee) id")]


class RankView(BaseModel):
    agent: str
    total: int
    rank: int
    flagged: bool = Field(description="in the top share of the month (policy points_top_percent), ties included")


class MonthRanking(BaseModel):
    month: str
    ledger_root: str = Field(description="the month's ledger hash, anchored in milestone points-YYYY-MM")
    entry_count: int
    data: list[RankView]
    count: int
    offset: int
    limit: int


class EntryView(BaseModel):
    source_key: str
    rule: str
    points: int
    ticket_id: str
    event_at: str


class AgentMonth(BaseModel):
    month: str
    agent: str
    total: int
    rank: int | None
    flagged: bool
    entries: list[EntryView]
