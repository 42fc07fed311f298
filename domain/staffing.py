"""What the daily forecast-and-staffing workflow and its activities exchange (rule 7)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The alert's kind, in inboxes and e-mail subjects.
STAFFING_SHORTFALL = "staffing_shortfall"


@dataclass
class StaffingRequest:
    run_key: str = ""  # YYYY-MM-DD; empty: the workflow's own date (UTC)


@dataclass
class PlanOutcome:
    run_key: str
    tickets: int = 0  # tickets read from the history
    series: int = 0  # (category, channel) series forecast
    plan_days: int = 0  # (day, team) rows stored
    note: str = ""  # why no plan was made, when none was


@dataclass
class Shortfall:
    """A (day, team) whose roster on record is below the agents the plan needs."""

    day: str  # YYYY-MM-DD
    team: str
    volume: float
    needed: int
    rostered: int
    recipients: list[str] = field(default_factory=list)  # those not yet alerted of this very shortfall

    @property
    def short_by(self) -> int:
        return self.needed - self.rostered


def shortfall_key(s: Shortfall, recipient: str) -> str:
    """One alert per recipient, team, day and size of the gap: a retry or a re-run finds it sent;
    a gap that changes (a new roster, a new forecast) is news and is sent."""
    return f"staffing:{s.team}:{s.day}:short{s.short_by}:{recipient}"


@dataclass
class StaffingOutcome:
    run_key: str
    plan: PlanOutcome
    shortfalls: int = 0
    alerts: int = 0  # alerts this run sent (not sent before)
