"""Read-model tables of personal points. Written only through readmodel/points.py.

The ledger is append-only: one row per source event (unique ``source_key``), each row in the one
month that closed with it; a closed month keeps its ledger root, which is anchored.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


# One ledger line: an event that earned or cost an agent points.
class PointEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(index=True, max_length=7)
    agent: str = Field(index=True, max_length=128)
    source_key: str = Field(unique=True, max_length=200)  # "<ticket>:<seq>:<rule>"
    rule: str = Field(max_length=40)
    points: int
    ticket_id: str = Field(max_length=64)
    event_at: str = Field(max_length=40)


# A closed month: its ledger root (also in the anchored milestone of subject "points-YYYY-MM").
class PointsMonth(SQLModel, table=True):
    month: str = Field(primary_key=True, max_length=7)
    ledger_root: str = Field(max_length=66)
    entry_count: int
    agent_count: int
    rules_hash: str = Field(max_length=66)
    milestone_leaf: str = Field(max_length=66)
    closed_at: datetime


# An agent's place in a closed month.
class PointsRank(SQLModel, table=True):
    month: str = Field(primary_key=True, max_length=7)
    agent: str = Field(primary_key=True, max_length=128)
    total: int
    rank: int
    flagged: bool = Field(default=False)
