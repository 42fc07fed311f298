"""What the daily analysis workflow and its activities exchange (rule 6, 11, 13, 20)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AnalysisRequest:
    run_key: str = ""  # YYYY-MM-DD; empty: the workflow's own date (UTC)


@dataclass
class AnalysisOutcome:
    run_key: str
    tickets: int = 0
    failures: int = 0
    flagged_steps: list[str] = field(default_factory=list)
    problems: int = 0
    proposed: list[str] = field(default_factory=list)  # problem keys proposed by this run
    cases_added: int = 0
