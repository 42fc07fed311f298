"""Quality veto (rule 8): a team with N major complaints in a calendar year loses award eligibility.

What counts as a major complaint is the policy's (``[performance.veto]``): a ticket of a complaint
category whose resolution target was breached, or a complaint the quality department upholds.
The year is the calendar year in the policy's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.tickets import MilestoneView

RESOLUTION_BREACH = "resolution_breach"
UPHELD = "upheld"


@dataclass
class VetoPolicy:
    threshold: int  # major complaints in a year that cost the award eligibility
    timezone: str = "UTC"
    recipients: list[str] = field(default_factory=list)  # the team's head and the quality committee
    grace_days: float = 31  # complaints of a year still counted this long after it ends


@dataclass
class VetoInput:
    team: str
    year: int
    policy: VetoPolicy


@dataclass
class MajorComplaint:
    """One major complaint; ``source_key`` makes it count once whoever reports it how often."""

    team: str
    source_key: str
    kind: str  # resolution_breach | upheld
    ticket_id: str
    at: str  # when it happened (ISO, UTC): decides the year
    actor: str = ""


@dataclass
class VetoView:
    team: str
    year: int
    threshold: int
    count: int
    eligible: bool
    crossed_at: str | None
    complaints: list[MajorComplaint]


@dataclass
class RecordVetoInput:
    view: VetoView
    milestones: list[MilestoneView]


def year_of(at: datetime, timezone: str) -> int:
    return at.astimezone(ZoneInfo(timezone)).year


def year_end(year: int, timezone: str) -> datetime:
    return datetime(year + 1, 1, 1, tzinfo=ZoneInfo(timezone))


def veto_subject(team: str, year: int) -> str:
    return f"veto-{team}-{year}"


@dataclass
class ScanRequest:
    """Scan the read model for major complaints recorded before ``until`` (ISO); see activities/veto.py."""

    until: str = ""


# Milestone kinds of a team's veto year (subject "veto-<team>-<year>").
VETO_YEAR_OPENED = "veto_year_opened"
MAJOR_COMPLAINT_COUNTED = "major_complaint_counted"
AWARD_ELIGIBILITY_LOST = "award_eligibility_lost"
VETO_YEAR_CLOSED = "veto_year_closed"
