"""Read-model table of the quality veto. Written only through readmodel/veto.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


# A team's veto year as its workflow last recorded it (the workflow is the source of truth).
class VetoStatus(SQLModel, table=True):
    team: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    threshold: int
    count: int
    eligible: bool
    crossed_at: str | None = Field(default=None, max_length=40)
    complaints: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    updated_at: datetime
