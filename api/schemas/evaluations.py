"""Bodies and answers of the mystery-shopping routes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, Field

from api.schemas import ID_PATTERN, RequestBody

TARGET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
EvaluationId = Annotated[str, Path(pattern=ID_PATTERN, description="evaluation id")]


class EvaluationBody(RequestBody):
    evaluation_id: str = Field(pattern=ID_PATTERN, description="chosen by the evaluator: a retry files nothing twice")
    target_kind: Literal["team", "agent"]
    target: str = Field(pattern=TARGET_PATTERN, description="team code or agent id")
    visited_at: AwareDatetime = Field(description="when the evaluator was served (with a time zone)")
    scores: dict[str, int] = Field(description="every criterion of the policy, each on its scale")
    notes: str = Field("", max_length=20_000, description="free text; kept sealed, the milestone holds its hash")


class EvaluationView(BaseModel):
    evaluation_id: str
    target_kind: str
    target: str
    month: str
    visited_at: str
    scores: dict[str, int]
    evaluator: str
    notes: str | None = Field(None, description="null when there are none, or they were erased")
    notes_hash: str
    leaf: str = Field(description="the evaluation's milestone (subject eval-<id>), anchored like every milestone")


class EvaluationPage(BaseModel):
    data: list[EvaluationView]
    count: int
    offset: int
    limit: int


class TargetScores(BaseModel):
    target_kind: str
    target: str
    evaluations: int
    mean_scores: dict[str, float]


class MonthScores(BaseModel):
    month: str
    data: list[TargetScores]
