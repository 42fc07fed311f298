"""Read-model tables of the monthly spot checks. Written only through readmodel/spot_check.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


# A month's draw: the seed block, the population and the sample (as hashes), anchored as
# milestone 0 of subject "spotcheck-YYYY-MM".
class SpotCheckSample(SQLModel, table=True):
    month: str = Field(primary_key=True, max_length=7)
    not_before: str = Field(max_length=40)
    seed_block: int
    seed_hash: str = Field(max_length=66)
    seed_timestamp: int
    population_count: int
    sample_count: int
    population_hash: str = Field(max_length=66)
    sample_hash: str = Field(max_length=66)
    strata: str = Field(sa_column=Column(Text, nullable=False))  # JSON {stratum: [population, sampled]}
    milestone_leaf: str = Field(max_length=66)
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON, when done
    drawn_at: datetime


# One sampled ticket's review task (the month's workflow is the source of truth).
class SpotCheckTask(SQLModel, table=True):
    month: str = Field(primary_key=True, max_length=7)
    ticket_id: str = Field(primary_key=True, max_length=64)
    stratum: str = Field(max_length=130)
    abnormal: bool
    ticket_leaf: str = Field(max_length=66)
    reviewer: str = Field(index=True, max_length=128)
    due_at: str = Field(default="", max_length=40)
    status: str = Field(default="open", max_length=16)
    reminded: bool = False
    escalated: bool = False
    findings: int = 0
