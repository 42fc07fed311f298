"""Answers of the analysis, proposal and case-library routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

from api.schemas import NO_NUL, RequestBody

RunKey = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$", description="YYYY-MM-DD")]
REJECT_REASON_CHARS = 2000  # the column's width (readmodel/analysis_models.py:MeetingProposal.reject_reason)
ProblemKey = Annotated[str, Path(pattern=r"^P-[0-9a-f]{16}$", description="a proposal's problem key")]


class AnalysisView(BaseModel):
    run_key: str
    as_of: str = Field(description="the end of the analysed window (the newest failure)")
    tickets: int
    failures: int
    threshold_percent: float
    flagged_steps: list[str] = Field(description="steps causing more than the threshold's share of failures")
    reopen_rate: float = Field(description="percent of the window's resolved tickets reopened")
    repeat_rate: float = Field(description="percent that are repeat complaints")
    sampled_texts: int = Field(description="failed tickets' texts clustered (a sample above [analysis] cluster_sample)")
    shares: dict[str, Any] = Field(description="by_step, by_root_cause (percent of failures), by_month_team")
    problems: list[dict[str, Any]] = Field(description="recurring problems, highest priority first")


class ProposalView(BaseModel):
    problem_key: str
    title: str
    departments: list[str]
    category: str
    step: str | None
    root_cause: str | None
    evidence: dict[str, Any] = Field(description="reasons, clusters, share_of_failures (percent), tickets")
    ticket_ids: list[str] = Field(description="the tickets linked to the meeting on acceptance")
    status: str = Field(description="proposed | accepted | rejected")
    run_key: str
    proposed_at: str
    meeting_id: str | None
    accepted_by: str | None
    rejected_by: str | None = None
    reject_reason: str | None = None
    share_history: list[dict[str, Any]] = Field(
        description="the problem's share of failures, tickets and recent tickets in each daily run, oldest first: "
                    "the same numbers before and after a meeting's solution")


class RejectBody(RequestBody):
    reason: str = Field(min_length=1, max_length=REJECT_REASON_CHARS, pattern=NO_NUL,
                        description="why the committee turns the proposal down")


class ProposalList(BaseModel):
    data: list[ProposalView]


class CaseView(BaseModel):
    id: str
    source: str = Field(description="ticket | finding | meeting | seed")
    problem: str
    cause: str
    measure: str
    outcome: str
    category: str
    team: str
    step: str
    lang: str
    score: float = Field(description="BM25 score of the query")


class CaseResults(BaseModel):
    query: str
    count: int
    data: list[CaseView]


class SimilarCases(BaseModel):
    ticket_id: str
    data: list[CaseView]
