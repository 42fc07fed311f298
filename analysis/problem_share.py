"""A problem's share of failures: the one formula behind a proposal and its meeting's verification.

Pure and light (stdlib only), so the governance activities can measure a meeting's effect with it
without loading the clustering libraries. ``analysis/root_cause.py`` computes each cluster's share
with :func:`share_of_failures`; ``readmodel/governance.py:measure_effect`` computes the share of an
accepted proposal's problem before and after its meeting's solution with :func:`problem_share`, so
the loop closes on the number that proposed the meeting (rule 20, decision 027).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FailureRow:
    ticket_id: str
    created_at: datetime
    team: str
    category: str
    priority: str
    step: str | None
    root_cause: str | None
    text: str


@dataclass(frozen=True)
class ProblemFigures:
    matching: int  # failures of the problem
    failures: int  # all failures in the period
    share: float  # percent of failures, 2 decimals


def share_of_failures(matching: float, failures: int) -> float:
    """Percent of ``failures`` that ``matching`` are, to 2 decimals; 0.0 when nothing failed."""
    if matching < 0 or failures < 0:
        raise ValueError("counts must be >= 0")
    return round(100 * matching / max(failures, 1), 2)


def is_problem(row: FailureRow, departments: Iterable[str], step: str | None, root_cause: str | None) -> bool:
    """Whether a failure is one of the problem's: its key's step and root cause, in one of its departments.

    These three are what ``analysis/root_cause.py:problem_key`` identifies a problem by; the texts
    only found it, so a failure worded differently is still the same problem.
    """
    return row.step == step and row.root_cause == root_cause and row.team in set(departments)


def problem_share(rows: Sequence[FailureRow], departments: Iterable[str], step: str | None,
                  root_cause: str | None) -> ProblemFigures:
    """The problem's failures among ``rows`` (every failure of one period) and their share."""
    wanted = set(departments)
    matching = sum(1 for r in rows if is_problem(r, wanted, step, root_cause))
    return ProblemFigures(matching=matching, failures=len(rows), share=share_of_failures(matching, len(rows)))
