"""Types and pure rules of the two governance processes: the joint meeting and the supplier ledger.

Plain dataclasses so Temporal's default converter carries them; new fields always get defaults so
running workflows keep decoding their history. The numbers come from the policy file through
:func:`meeting_policy` and :func:`supplier_policy`, frozen into each workflow's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.business_calendar import CalendarSpec, is_business_day
from domain.tickets import MilestoneView

if TYPE_CHECKING:  # the policy models need pydantic; workflows only ever see the frozen slices
    from domain.policy import Policy


class GovernanceKind:
    """Milestone kinds of the meeting and supplier chains (the ticket kinds live in milestones.py)."""

    MEETING_OPENED = "meeting_opened"
    TICKET_LINKED = "ticket_linked"
    ANALYSIS_SUBMITTED = "analysis_submitted"
    MEETING_REMINDER = "meeting_reminder"
    MEETING_BREACH = "meeting_breach"
    SOLUTION_SUBMITTED = "solution_submitted"
    SOLUTION_SENT_TO_TICKET = "solution_sent_to_ticket"
    VERIFICATION_STARTED = "verification_started"
    MEETING_VERIFIED = "meeting_verified"
    MEETING_REOPENED = "meeting_reopened"

    SUPPLIER_REGISTERED = "supplier_registered"
    DEDUCTION_RECORDED = "deduction_recorded"
    EXIT_NOTICE = "exit_notice"
    APPEAL_FILED = "appeal_filed"
    APPEAL_UPHELD = "appeal_upheld"
    APPEAL_GRANTED = "appeal_granted"
    EXIT_CONFIRMED = "exit_confirmed"
    OPEN_TICKETS_LISTED = "open_tickets_listed"
    TICKET_REASSIGNED = "ticket_reassigned"
    SUPPLIER_TERMINATED = "supplier_terminated"
    HISTORY_CONTINUED = "history_continued"


# ------------------------------------------------------------------ joint meeting


class MeetingStatus(StrEnum):
    OPEN = "open"  # departments analyse; the committee lead owes a solution
    VERIFYING = "verifying"  # solution given; waiting for the effect to show
    VERIFIED = "verified"  # final: the effect was measured and the problem receded


@dataclass
class MeetingPolicy:
    solution_due_seconds: float = 72 * 3600
    reminder_seconds: list[float] = field(default_factory=lambda: [24 * 3600.0, 48 * 3600.0])
    verification_seconds: float = 30 * 86400
    committee_head: str = "quality-committee-head"
    department_heads: dict[str, str] = field(default_factory=dict)


@dataclass
class MeetingInput:
    meeting_id: str
    title: str
    category: str  # the ticket category whose repeat/reopen rates verify the solution
    departments: list[str]
    policy: MeetingPolicy
    linked_tickets: list[str] = field(default_factory=list)
    problem_hash: str = ""  # keyed hash of the free-text problem statement (text stays off chain)
    opened_by: str = ""
    # Send "link_meeting" signals to linked TicketWorkflows (their own chains get the milestones).
    signal_tickets: bool = True


@dataclass
class AnalysisInput:
    department: str
    analysis_hash: str  # keyed hash of the analysis text
    summary: str = ""
    actor: str = ""


@dataclass
class SolutionAction:
    action: str
    owner: str
    due: str  # ISO date or time


@dataclass
class SolutionInput:
    root_cause: str
    actions: list[SolutionAction]
    actor: str = ""


@dataclass
class LinkTicketInput:
    ticket_id: str
    actor: str = ""


@dataclass
class MeetingTicketLink:
    """What a linked TicketWorkflow receives (signal ``link_meeting``) once wired."""

    meeting_id: str
    kind: str  # "linked" | "solution"
    meeting_leaf: str
    root_cause: str = ""
    actions: int = 0


@dataclass
class EffectQuery:
    meeting_id: str
    category: str
    before_from: str
    before_to: str  # the solution time
    after_to: str  # the end of the verification period
    linked_tickets: list[str] = field(default_factory=list)


@dataclass
class EffectResult:
    before_tickets: int
    after_tickets: int
    before_repeat_rate: float
    after_repeat_rate: float
    before_reopen_rate: float
    after_reopen_rate: float
    # A meeting opened from a proposal is also judged on the measure that proposed it: the problem's
    # share of failures (percent) and its failures, before and after (decision 027). None: a meeting
    # opened by hand. Defaults keep recorded results without them decoding.
    problem_key: str | None = None
    before_share: float | None = None
    after_share: float | None = None
    before_problem_tickets: int | None = None
    after_problem_tickets: int | None = None
    before_failures: int | None = None
    after_failures: int | None = None

    def improved(self) -> bool:
        """Verified when neither rate got worse and at least one fell (or both are already zero), and,
        when the problem's share was measured, that share fell (or no failure of it is left)."""
        not_worse = (self.after_repeat_rate <= self.before_repeat_rate
                     and self.after_reopen_rate <= self.before_reopen_rate)
        fell = (self.after_repeat_rate < self.before_repeat_rate
                or self.after_reopen_rate < self.before_reopen_rate)
        zero = self.after_repeat_rate == 0 and self.after_reopen_rate == 0
        rates_ok = not_worse and (fell or zero)
        if self.before_share is None or self.after_share is None:
            return rates_ok
        return rates_ok and (self.after_share < self.before_share or self.after_share == 0)

    def figures(self) -> dict[str, str]:
        out = {"before_tickets": str(self.before_tickets), "after_tickets": str(self.after_tickets),
               "before_repeat_rate": f"{self.before_repeat_rate:.4f}",
               "after_repeat_rate": f"{self.after_repeat_rate:.4f}",
               "before_reopen_rate": f"{self.before_reopen_rate:.4f}",
               "after_reopen_rate": f"{self.after_reopen_rate:.4f}"}
        if self.before_share is not None and self.after_share is not None:
            out.update({"problem_key": self.problem_key or "",
                        "before_share": f"{self.before_share:.2f}", "after_share": f"{self.after_share:.2f}",
                        "before_problem_tickets": str(self.before_problem_tickets or 0),
                        "after_problem_tickets": str(self.after_problem_tickets or 0),
                        "before_failures": str(self.before_failures or 0),
                        "after_failures": str(self.after_failures or 0)})
        return out

    def reason(self) -> str:
        """Why a meeting reopens: every figure it was judged on, before -> after."""
        f = self.figures()
        text = (f"repeat rate {f['before_repeat_rate']} -> {f['after_repeat_rate']}, "
                f"reopen rate {f['before_reopen_rate']} -> {f['after_reopen_rate']}")
        if "before_share" in f:
            text += (f", share of failures {f['before_share']}% -> {f['after_share']}% "
                     f"({f['before_problem_tickets']} -> {f['after_problem_tickets']} tickets)")
        return text


@dataclass
class MeetingView:
    meeting_id: str
    status: str
    title: str
    category: str
    departments: list[str]
    submitted: list[str]
    linked_tickets: list[str]
    opened_at: str
    due_at: str
    round: int = 1
    breached_rounds: list[int] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)  # "<department>@<hours>h#<round>"
    root_cause: str | None = None
    actions: list[SolutionAction] = field(default_factory=list)
    solved_at: str | None = None
    verify_at: str | None = None
    effect: EffectResult | None = None
    reopen_reasons: list[str] = field(default_factory=list)
    milestones: list[MilestoneView] = field(default_factory=list)


@dataclass
class RecordMeetingInput:
    meeting_id: str
    snapshot: MeetingView
    milestones: list[MilestoneView]


# ------------------------------------------------------------------ supplier ledger


class SupplierStatus(StrEnum):
    ACTIVE = "active"
    EXIT_NOTICE = "exit_notice"  # appeal window open
    APPEALED = "appealed"  # the committee decides
    EXITED = "exited"  # no new tickets; open tickets are being reassigned
    TERMINATED = "terminated"  # final step of the exit process done (deductions still recorded)


EXIT_STATUSES = frozenset({SupplierStatus.EXITED, SupplierStatus.TERMINATED})


@dataclass
class SupplierPolicy:
    exit_threshold_percent: float = 10
    appeal_window_business_days: int = 10
    deduction_percent_by_severity: dict[str, float] = field(default_factory=dict)
    calendar: CalendarSpec = field(default_factory=CalendarSpec)
    committee_head: str = "quality-committee-head"
    # Deductions, appeals, reassignments... handled in one run before continue-as-new.
    history_limit: int = 500


@dataclass
class ChainTip:
    seq: int
    leaf: str
    kind: str
    at: str


@dataclass
class DeductionView:
    incident_id: str
    severity: str
    amount: int
    ticket_id: str
    at: str
    leaf: str
    after_exit: bool = False


@dataclass
class SupplierCarry:
    """Everything a continued run needs; milestones themselves stay in the read model."""

    total: int
    incident_ids: list[str]
    status: str
    tip: ChainTip | None
    deduction_count: int
    exit_started_at: str | None = None
    appeal_due: str | None = None
    appeal_reason: str | None = None
    decision: str | None = None
    open_tickets: list[str] = field(default_factory=list)
    reassigned: dict[str, str] = field(default_factory=dict)
    runs: int = 1
    recent: list[DeductionView] = field(default_factory=list)
    listed: bool = False  # open tickets listed after the exit


@dataclass
class SupplierInput:
    supplier_id: str
    name: str
    contract_value: int  # minor units
    currency: str
    policy: SupplierPolicy
    opened_by: str = ""
    carry: SupplierCarry | None = None


@dataclass
class DeductionInput:
    incident_id: str
    severity: str
    ticket_id: str = ""
    reason: str = ""
    amount: int = 0  # 0: by the policy's schedule for the severity
    actor: str = ""


@dataclass
class AppealInput:
    reason: str
    actor: str = ""


@dataclass
class AppealDecisionInput:
    upheld: bool  # True: the exit continues; False: the appeal is granted and the exit withdrawn
    reason: str
    actor: str = ""


@dataclass
class ReassignInput:
    ticket_id: str
    to_team: str
    actor: str = ""


@dataclass
class DeductionResult:
    incident_id: str
    amount: int
    total: int
    duplicate: bool
    exit_started: bool
    status: str


@dataclass
class SupplierView:
    supplier_id: str
    name: str
    contract_value: int
    currency: str
    status: str
    total: int
    threshold_amount: str  # exact: contract value x percent / 100, as a decimal string
    deduction_count: int
    runs: int
    exit_started_at: str | None
    appeal_due: str | None
    appeal_reason: str | None
    decision: str | None
    open_tickets: list[str]
    reassigned: dict[str, str]
    recent: list[DeductionView]
    milestones: list[MilestoneView]  # this run's milestones (earlier runs: the read model)
    tip: ChainTip | None = None


@dataclass
class RecordSupplierInput:
    supplier_id: str
    snapshot: SupplierView
    milestones: list[MilestoneView]
    deductions: list[DeductionView] = field(default_factory=list)


@dataclass
class OpenTicketsQuery:
    supplier_id: str


# ------------------------------------------------------------------ pure rules


def deduction_amount(contract_value: int, percent: float) -> int:
    """Minor units, rounded half up; exact for decimal percents such as 0.5."""
    value = Fraction(contract_value) * Fraction(str(percent)) / 100
    return int(value + Fraction(1, 2))


def exceeds_threshold(total: int, contract_value: int, threshold_percent: float) -> bool:
    """Strictly greater than the threshold share of the contract value (exact arithmetic)."""
    return Fraction(total) * 100 > Fraction(contract_value) * Fraction(str(threshold_percent))


def threshold_amount(contract_value: int, threshold_percent: float) -> str:
    value = Fraction(contract_value) * Fraction(str(threshold_percent)) / 100
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.2f}"


def add_business_days(spec: CalendarSpec, start: datetime, days: int) -> datetime:
    """The end (local midnight after) of the ``days``-th business day after ``start``'s local day.

    Args:
        spec: The policy calendar (time zone, holidays, make-up workdays).
        start: Tz-aware instant the window opens.
        days: Whole business days, >= 0; 0 closes the window at ``start``.

    Returns:
        A tz-aware UTC instant.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if days < 0:
        raise ValueError("days must be >= 0")
    if days == 0:
        return start.astimezone(UTC)
    tz = ZoneInfo(spec.timezone)
    day = start.astimezone(tz).date()
    counted = 0
    for _ in range(days * 7 + 800):  # bounded even for a calendar of mostly holidays
        day += timedelta(days=1)
        if is_business_day(spec, day):
            counted += 1
            if counted == days:
                return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    raise ValueError("the calendar has no business days for years after the start")


def meeting_policy(policy: Policy) -> MeetingPolicy:
    jm = policy.joint_meeting
    return MeetingPolicy(
        solution_due_seconds=jm.solution_due_hours * 3600,
        reminder_seconds=[h * 3600 for h in sorted(jm.reminder_hours)],
        verification_seconds=jm.verification_days * 86400,
        committee_head=policy.departments.default_head,
        department_heads=dict(policy.departments.heads),
    )


def supplier_policy(policy: Policy, *, year: int, history_limit: int = 500) -> SupplierPolicy:
    sp = policy.supplier
    return SupplierPolicy(
        exit_threshold_percent=sp.exit_threshold_percent,
        appeal_window_business_days=sp.appeal_window_business_days,
        deduction_percent_by_severity=dict(sp.deduction_percent_by_severity),
        calendar=policy.calendar.to_spec(range(year - 1, year + 3)),
        committee_head=policy.departments.default_head,
        history_limit=history_limit,
    )
