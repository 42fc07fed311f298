"""The policy file: every number from the company's service-quality policy, validated at start.

A malformed file raises :class:`PolicyError` whose message names the file and the bad key, so the
API and the worker refuse to start instead of running on a half-read policy.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.business_calendar import CalendarSpec, validate_calendar
from domain.feedback import FeedbackModel, ObserversModel
from domain.points import PointsRules
from domain.sla_clock import ClockName
from domain.spot_check import Checklist, SpotCheckPolicy
from domain.tickets import PRIORITIES, Targets, TicketPolicy, TicketStatus
from domain.veto import VetoPolicy


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the bad key."""


# Upper bounds on every duration and count: a policy is applied to running tickets (PUT
# /tickets/{id}/policy), and an infinite or astronomically large number would make the workflow's
# deadline arithmetic overflow on every replay. Ten years is far beyond any real service promise.
MAX_DAYS = 10 * 366
MAX_HOURS = MAX_DAYS * 24
MAX_MINUTES = MAX_HOURS * 60
MAX_COUNT = 1_000_000
# Voucher amounts are minor units; the same ceiling as a supplier's contract value.
MAX_AMOUNT = 10**15


class _Strict(BaseModel):
    # No inf or nan anywhere: TOML spells them `inf` and `nan`, and both pass `gt=0`.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TargetsModel(_Strict):
    first_response_minutes: float = Field(gt=0, le=MAX_MINUTES)
    resolution_hours: float = Field(gt=0, le=MAX_HOURS)

    def to_targets(self) -> Targets:
        return Targets(self.first_response_minutes * 60, self.resolution_hours * 3600)


class SlaModel(_Strict):
    warning_levels: list[int] = Field(min_length=0, max_length=5)
    pause_statuses: list[str]
    reopen_window_hours: float = Field(ge=0, le=MAX_HOURS)
    auto_close_hours: float = Field(gt=0, le=MAX_HOURS)
    repeat_complaint_days: float = Field(ge=0, le=MAX_DAYS)
    priorities: dict[str, TargetsModel]
    categories: dict[str, dict[str, TargetsModel]] = Field(default_factory=dict)

    @field_validator("warning_levels")
    @classmethod
    def _levels(cls, levels: list[int]) -> list[int]:
        if any(not 0 < level < 100 for level in levels) or levels != sorted(set(levels)):
            raise ValueError("must be increasing percentages between 1 and 99")
        return levels

    @field_validator("pause_statuses")
    @classmethod
    def _statuses(cls, statuses: list[str]) -> list[str]:
        known = {s.value for s in TicketStatus}
        for status in statuses:
            if status not in known:
                raise ValueError(f"unknown status {status!r}")
        return statuses

    @field_validator("priorities")
    @classmethod
    def _all_priorities(cls, priorities: dict[str, TargetsModel]) -> dict[str, TargetsModel]:
        missing = [p for p in PRIORITIES if p not in priorities]
        if missing:
            raise ValueError(f"missing priorities {missing}")
        unknown = [p for p in priorities if p not in PRIORITIES]
        if unknown:
            raise ValueError(f"unknown priorities {unknown}")
        return priorities


class CalendarModel(_Strict):
    mode: Literal["24x7", "business_hours"] = "24x7"
    timezone: str = "UTC"
    hours: dict[str, list[list[str]]] = Field(default_factory=dict)
    holiday_region: str = ""
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)

    def to_spec(self, years: range) -> CalendarSpec:
        region_closed: set[date] = set()
        region_open: set[date] = set()
        if self.holiday_region:
            import holidays as holidays_lib

            try:
                region = holidays_lib.country_holidays(self.holiday_region, years=list(years))
            except NotImplementedError as exc:
                raise ValueError(f"unknown holiday_region {self.holiday_region!r}") from exc
            region_closed = set(region)
            # China's make-up working days (调休) fall on weekends; the library lists them apart.
            region_open = {d for d in getattr(region, "weekend_workdays", ()) if d.year in years}
        # Dates listed in the policy win over the region's calendar.
        listed_closed, listed_open = set(self.holidays), set(self.workdays)
        closed = (region_closed - listed_open) | listed_closed
        open_days = (region_open - listed_closed) | listed_open
        return CalendarSpec(
            timezone=self.timezone,
            always_open=self.mode == "24x7",
            hours={k: [list(i) for i in v] for k, v in self.hours.items()},
            holidays=sorted(d.isoformat() for d in closed),
            workdays=sorted(d.isoformat() for d in open_days),
        )


class DepartmentsModel(_Strict):
    default_head: str
    heads: dict[str, str] = Field(default_factory=dict)


class CompensationModel(_Strict):
    currency: str = Field(min_length=3, max_length=3)
    voucher_valid_days: float = Field(gt=0, le=MAX_DAYS)
    amounts: dict[ClockName, dict[str, int]]
    # The voucher contract's cap (CompensationVoucher.maxAmount, set at deployment): no voucher above
    # it can be issued on chain, whatever a ticket's policy says. Unset: the largest amount above.
    max_voucher_amount: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _cap_covers_amounts(self) -> CompensationModel:
        if self.max_voucher_amount is not None:
            for kind, by_priority in self.amounts.items():
                for priority, amount in by_priority.items():
                    if amount > self.max_voucher_amount:
                        raise ValueError(f"{kind}.{priority}: {amount} is above max_voucher_amount")
        return self

    @property
    def voucher_cap(self) -> int:
        """The cap the voucher contract gets (minor units)."""
        largest = max((a for by_priority in self.amounts.values() for a in by_priority.values()), default=1)
        return self.max_voucher_amount or largest

    @field_validator("amounts")
    @classmethod
    def _positive(cls, amounts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for kind, by_priority in amounts.items():
            for priority, amount in by_priority.items():
                if priority not in PRIORITIES:
                    raise ValueError(f"{kind}.{priority}: unknown priority")
                if not 0 < amount <= MAX_AMOUNT:
                    raise ValueError(f"{kind}.{priority}: amount must be between 1 and {MAX_AMOUNT}")
        return amounts


class ChecklistModel(_Strict):
    deviations: list[str] = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    severities: list[str] = Field(min_length=1)


class SpotCheckModel(_Strict):
    min_percent: float = Field(ge=0, le=100)
    max_percent: float = Field(ge=0, le=100)
    abnormal_weight: float = Field(ge=1)
    low_rating_max: int = Field(ge=1, le=5)
    seed_delay_hours: float = Field(ge=0, le=24 * 28)
    review_days: float = Field(gt=0)
    reminder_days_before: float = Field(ge=0)
    reviewers: list[str] = Field(min_length=1)
    escalate_to: str = Field(min_length=1)
    checklist: ChecklistModel

    def to_policy(self) -> SpotCheckPolicy:
        c = self.checklist
        return SpotCheckPolicy(
            min_percent=self.min_percent, max_percent=self.max_percent, abnormal_weight=self.abnormal_weight,
            low_rating_max=self.low_rating_max, seed_delay_hours=self.seed_delay_hours,
            review_days=self.review_days, reminder_days_before=self.reminder_days_before,
            reviewers=list(self.reviewers), escalate_to=self.escalate_to,
            checklist=Checklist(list(c.deviations), list(c.steps), list(c.severities)))


class PointsModel(_Strict):
    sla_met: int
    sla_breached: int
    rating: dict[str, int]
    mystery_points_per_step: int
    spot_check_finding: dict[str, int]

    @field_validator("rating")
    @classmethod
    def _ratings(cls, rating: dict[str, int]) -> dict[str, int]:
        if sorted(rating) != ["1", "2", "3", "4", "5"]:
            raise ValueError("rating must give points for each of the ratings 1 to 5")
        return rating

    def to_rules(self, scales: dict[str, tuple[int, int]] | None = None) -> PointsRules:
        return PointsRules(sla_met=self.sla_met, sla_breached=self.sla_breached,
                           rating={int(k): v for k, v in self.rating.items()},
                           mystery_points_per_step=self.mystery_points_per_step, mystery_scales=dict(scales or {}),
                           spot_check_finding=dict(self.spot_check_finding))


class VetoModel(_Strict):
    major_complaint_categories: list[str] = Field(min_length=1)
    major_finding_severities: list[str]
    quality_committee: str = Field(min_length=1)
    grace_days: float = Field(ge=0, le=366)
    scan_every_hours: float = Field(gt=0, le=24 * 7)
    scan_lookback_hours: float = Field(gt=0, le=24 * 366)


class PerformanceModel(_Strict):
    veto_major_complaints_per_year: int = Field(ge=1, le=MAX_COUNT)
    points_top_percent: float = Field(gt=0, le=100)
    points: PointsModel
    veto: VetoModel


class JointMeetingModel(_Strict):
    solution_due_hours: float = Field(gt=0, le=MAX_HOURS)
    reminder_hours: list[Annotated[float, Field(ge=0, le=MAX_HOURS)]] = Field(max_length=20)
    verification_days: float = Field(ge=0, le=MAX_DAYS)


class SupplierModel(_Strict):
    exit_threshold_percent: float = Field(gt=0, le=100)
    appeal_window_business_days: int = Field(ge=0, le=MAX_DAYS)
    deduction_percent_by_severity: dict[str, Annotated[float, Field(ge=0, le=100)]]
    breach_severity: str = "major"

    @model_validator(mode="after")
    def _known_severity(self) -> SupplierModel:
        if self.breach_severity not in self.deduction_percent_by_severity:
            raise ValueError(f"breach_severity {self.breach_severity!r} is not in deduction_percent_by_severity")
        return self


class ScaleModel(_Strict):
    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> ScaleModel:
        if self.min >= self.max:
            raise ValueError("a scale's min must be below its max")
        return self


class MysteryShoppingModel(_Strict):
    criteria: dict[str, ScaleModel] = Field(min_length=1)
    notes_max_chars: int = Field(ge=0, le=20_000)


class ReportModel(_Strict):
    """The monthly public quality report (rule 16): how many problems it ranks, how far back it looks."""

    top_problems: int = Field(default=3, ge=1, le=20)
    trend_months: int = Field(default=3, ge=0, le=24)


class AnalysisModel(_Strict):
    step_failure_threshold_percent: float = Field(40, gt=0, le=100)
    max_clusters: int = Field(10, ge=2, le=50)
    cluster_sample: int = Field(20000, ge=100, le=200_000)
    seed: int = Field(42, ge=0, le=2**31 - 1)
    trend_days: int = Field(28, ge=1, le=366)
    lookback_days: int = Field(365, ge=1, le=MAX_DAYS)
    cross_department_min_share_percent: float = Field(20, gt=0, le=50)
    recurring_per_window: int = Field(200, ge=1, le=MAX_COUNT)
    max_linked_tickets: int = Field(50, ge=1, le=500)
    run_hour_utc: int = Field(2, ge=0, le=23)
    similar_cases: int = Field(5, ge=1, le=50)
    severity: dict[str, Annotated[float, Field(gt=0, le=1000)]] = Field(
        default_factory=lambda: {"P1": 4.0, "P2": 3.0, "P3": 2.0, "P4": 1.0})

    @field_validator("severity")
    @classmethod
    def _every_priority(cls, severity: dict[str, float]) -> dict[str, float]:
        if sorted(severity) != sorted(PRIORITIES):
            raise ValueError(f"must weigh each of the priorities {list(PRIORITIES)}")
        return severity


class ForecastModel(_Strict):
    """Rule 7: daily volume per category and channel, ``horizon_days`` ahead (analysis/forecast.py)."""

    horizon_days: int = Field(30, ge=7, le=366)
    history_days: int = Field(730, ge=56, le=3660)
    # The calendar whose holidays and make-up workdays move volume (a `holidays` region, e.g. "CN").
    holiday_region: str = "CN"
    regularization: float = Field(1e-4, ge=0, le=100)


class StaffingModel(_Strict):
    """Rule 7: agents needed per day and team by Erlang C (analysis/staffing.py)."""

    handle_minutes: dict[str, Annotated[float, Field(gt=0, le=MAX_MINUTES)]] = Field(
        default_factory=lambda: {"default": 12.0})
    staffed_hours_per_day: float = Field(8, gt=0, le=24)
    # The share of tickets answered within the team's first-response target of this priority.
    answer_priority: str = "P3"
    target_percent: float = Field(80, gt=0, lt=100)
    max_occupancy_percent: float = Field(85, gt=0, le=100)
    shrinkage_percent: float = Field(30, ge=0, lt=100)
    run_hour_utc: int = Field(1, ge=0, le=23)

    def handle_seconds(self, team: str) -> float:
        return 60 * self.handle_minutes.get(team, self.handle_minutes.get("default", 12.0))


class TwinModel(_Strict):
    """Seed 3.1: the digital twin (cli/twin_run.py)."""

    tick_seconds: int = Field(60, ge=1, le=3600)
    concurrency: int = Field(256, ge=1, le=10_000)
    # A step (clock of a team) whose predicted breach rate is at or above this is a bottleneck.
    bottleneck_breach_percent: float = Field(10, ge=0, le=100)


class Policy(_Strict):
    sla: SlaModel
    calendar: CalendarModel = Field(default_factory=CalendarModel)
    departments: DepartmentsModel
    compensation: CompensationModel
    spot_check: SpotCheckModel
    performance: PerformanceModel
    joint_meeting: JointMeetingModel
    supplier: SupplierModel
    mystery_shopping: MysteryShoppingModel
    report: ReportModel = Field(default_factory=ReportModel)
    analysis: AnalysisModel = Field(default_factory=AnalysisModel)
    # Rules 14 and 15 (domain/feedback.py); absent sections take the documented defaults.
    feedback: FeedbackModel = Field(default_factory=FeedbackModel)
    observers: ObserversModel = Field(default_factory=ObserversModel)
    forecast: ForecastModel = Field(default_factory=ForecastModel)
    staffing: StaffingModel = Field(default_factory=StaffingModel)
    twin: TwinModel = Field(default_factory=TwinModel)

    @model_validator(mode="after")
    def _calendar_valid(self) -> Policy:
        try:
            validate_calendar(self.calendar.to_spec(range(2024, 2029)))
        except ValueError as exc:
            raise ValueError(f"calendar: {exc}") from exc
        return self

    def targets_for(self, category: str) -> dict[str, Targets]:
        targets = {p: t.to_targets() for p, t in self.sla.priorities.items()}
        for priority, override in self.sla.categories.get(category, {}).items():
            targets[priority] = override.to_targets()
        return targets

    def points_rules(self) -> PointsRules:
        scales = {name: (scale.min, scale.max) for name, scale in self.mystery_shopping.criteria.items()}
        return self.performance.points.to_rules(scales)

    def veto_policy(self, team: str) -> VetoPolicy:
        """The veto rule for one team: its head and the quality committee are alerted."""
        recipients = [self.department_head(team), self.performance.veto.quality_committee]
        return VetoPolicy(threshold=self.performance.veto_major_complaints_per_year,
                          timezone=self.calendar.timezone, recipients=list(dict.fromkeys(recipients)),
                          grace_days=self.performance.veto.grace_days)

    def department_head(self, team: str) -> str:
        return self.departments.heads.get(team, self.departments.default_head)

    def ticket_policy(self, *, category: str, team: str, year: int) -> TicketPolicy:
        """The policy slice a new ticket carries; holidays cover the year before to two after."""
        return TicketPolicy(
            targets=self.targets_for(category),
            calendar=self.calendar.to_spec(range(year - 1, year + 3)),
            warning_levels=list(self.sla.warning_levels),
            pause_statuses=list(self.sla.pause_statuses),
            reopen_window_seconds=self.sla.reopen_window_hours * 3600,
            auto_close_seconds=self.sla.auto_close_hours * 3600,
            repeat_complaint_seconds=self.sla.repeat_complaint_days * 86400,
            department_head=self.department_head(team),
            compensation={k: dict(v) for k, v in self.compensation.amounts.items()},
            voucher_valid_seconds=self.compensation.voucher_valid_days * 86400,
            supplier_breach_severity=self.supplier.breach_severity,
        )


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parses and validates policy TOML; raises PolicyError naming the bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {source}: not valid TOML: {exc}") from exc
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "<root>"
            problems.append(f"{key}: {err['msg']}")
        raise PolicyError(f"policy file {source}: " + "; ".join(problems)) from exc


def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"policy file {path}: cannot read: {exc.strerror}") from exc
    return parse_policy(text, str(path))
