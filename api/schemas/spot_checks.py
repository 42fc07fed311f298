"""Bodies and answers of the spot-check routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from api.schemas import CODE_PATTERN, RequestBody

Month = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class SampleView(BaseModel):
    month: str
    not_before: str = Field(description="the seed rule's instant: month end plus the published delay")
    seed_block: int
    seed_hash: str
    population_count: int
    sample_count: int
    population_hash: str
    sample_hash: str
    strata: dict[str, list[int]] = Field(description="{stratum: [population, sampled]}")
    milestone_leaf: str = Field(description="milestone 0 of subject spotcheck-YYYY-MM, anchored")
    summary: dict[str, object] | None = Field(description="once every task is reviewed")


class TaskView(BaseModel):
    ticket_id: str
    stratum: str
    abnormal: bool
    reviewer: str
    due_at: str
    status: str
    reminded: bool
    escalated: bool
    findings: int


class TaskList(BaseModel):
    month: str
    data: list[TaskView]


class FindingBody(RequestBody):
    deviation: str = Field(pattern=CODE_PATTERN)
    step: str = Field(pattern=CODE_PATTERN)
    severity: str = Field(pattern=CODE_PATTERN)
    abnormal_feedback: bool = False


class FindingsBody(RequestBody):
    findings: list[FindingBody] = Field(max_length=50, description="empty: reviewed, nothing found")
