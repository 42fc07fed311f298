"""The customer observer panel (rule 15): quarters, the review round's inputs, its meeting record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime


def quarter_of(at: datetime) -> str:
    """``YYYY-Qn`` of an instant (in the instant's own zone)."""
    return f"{at.year}-Q{(at.month - 1) // 3 + 1}"


def previous_quarter(at: datetime) -> str:
    year, quarter = at.year, (at.month - 1) // 3 + 1
    return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"


@dataclass
class RoundPolicy:
    review_days: float
    reminder_days: list[float]
    meeting_after_days: float
    quality_committee: str


@dataclass
class RoundInput:
    quarter: str = ""  # empty: the quarter that just ended (the schedule's start)
    policy: RoundPolicy | None = None


@dataclass
class RoundStarted:
    policy: RoundPolicy
    observers: list[str]


@dataclass
class ReviewInput:
    observer_id: str
    process: str
    score: int
    comment: str = ""


@dataclass
class ReviewRecord:
    quarter: str
    review: ReviewInput
    at: str


@dataclass
class RoundRecord:
    """What the activity writes: the round's state, and the meeting record once it is held."""

    quarter: str
    status: str  # collecting | met
    invited: list[str]
    reminders: int
    meeting: str | None = None


@dataclass
class RoundView:
    quarter: str
    status: str
    invited: list[str]
    reviewed: dict[str, list[str]] = field(default_factory=dict)  # observer -> processes reviewed
    reminders: int = 0
    meeting: str | None = None


def meeting_record(quarter: str, invited: list[str], reviews: list[ReviewInput], at: str) -> str:
    """The review meeting's record (canonical JSON): who took part, scores by process, who did not."""
    by_process: dict[str, list[int]] = {}
    for r in reviews:
        by_process.setdefault(r.process, []).append(r.score)
    took_part = sorted({r.observer_id for r in reviews})
    return json.dumps({
        "quarter": quarter, "held_at": at, "invited": len(invited), "took_part": took_part,
        "absent": sorted(set(invited) - set(took_part)),
        "processes": {p: {"reviews": len(s), "average_score": round(sum(s) / len(s), 2)}
                      for p, s in sorted(by_process.items())},
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
