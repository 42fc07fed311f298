"""The seeded history generator behind ``qualitrail data generate`` (pure: no I/O).

What it plants, so tests and benchmarks can check the analysis finds it:

- volume: ``tickets`` spread over ``days`` days from ``start`` with a weekly pattern (weekends
  ``weekend_factor``) and holiday peaks (``holiday_factor`` on the business calendar's holidays,
  ``domain/business_calendar.py:is_business_day`` on the policy's calendar, China's holidays and
  make-up workdays when the policy names no region: ``cli/data.py:history_calendar``);
  within a day, arrivals peak mid-morning and mid-afternoon (local time);
- failures: exactly ``round(tickets * failure_rate)`` tickets failed, split among the problems of
  ``analysis/templates.py`` by their weights (largest remainder, so the shares are exact): the
  ``diagnosis`` step causes 45 % of failures; the rising problems take later tickets, the falling one
  earlier ones; ``handoff_parcel`` is split between after-sales and logistics (the cross-department
  problem); ``leak_misdiagnosis`` is the largest, most severe and rising (the worst);
- exactly ``round(tickets * reopen_rate)`` failed tickets were reopened and
  ``round(tickets * repeat_rate)`` are repeat complaints (``repeat_of`` an earlier ticket of the same
  customer); the other failures breached their resolution target;
- texts: ``en_share`` of tickets in English, the rest in Chinese, from the templates with variation.

The same config gives the same history, ticket for ticket (``random.Random`` and numpy seeded).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from analysis.templates import CATEGORY_OF_TEAM, CHANNELS, FILLS, PROBLEMS, ROUTINE, ROUTINE_CAUSES, SUFFIX, TEAMS
from domain.business_calendar import CalendarSpec, is_business_day

_CHOICE = re.compile(r"\[([^\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class GeneratorConfig:
    tickets: int = 3000
    seed: int = 7
    start: date = date(2026, 1, 1)
    days: int = 180
    timezone: str = "Asia/Shanghai"
    failure_rate: float = 0.20
    reopen_rate: float = 0.06
    repeat_rate: float = 0.08
    en_share: float = 0.30
    weekend_factor: float = 0.7
    holiday_factor: float = 1.8
    prefix: str = "GEN"


@dataclass
class GeneratedTicket:
    id: str
    created_at: datetime  # UTC
    category: str
    team: str
    channel: str
    priority: str
    summary: str
    description: str
    lang: str
    customer: str
    root_cause: str
    failed: bool
    step: str | None  # the failing process step; None for a ticket that did not fail
    problem: str | None  # the planted problem (ground truth, never stored)
    reopens: int = 0
    breached: bool = False
    repeat_of: str | None = None
    rating: int = 5


@dataclass
class PlantedTruth:
    tickets: int
    failures: int
    by_problem: dict[str, int] = field(default_factory=dict)
    step_share: dict[str, float] = field(default_factory=dict)  # percent of failures
    flagged_step: str = "diagnosis"
    cross_department: str = "handoff_parcel"
    worst: str = "leak_misdiagnosis"
    reopen_rate: float = 0.0  # percent of tickets
    repeat_rate: float = 0.0


def render(template: str, lang: str, rnd: random.Random) -> str:
    """One text from a template: each ``[a|b]`` picks an alternative, each ``{slot}`` a filler."""
    text = _CHOICE.sub(lambda m: rnd.choice(m.group(1).split("|")), template)

    def slot(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ("days", "hours"):
            return str(rnd.randint(2, 15 if name == "days" else 12))
        if name == "order":
            return f"QT{rnd.randrange(10**7, 10**8)}"
        if name == "model":
            return f"XQG{rnd.randint(60, 120)}"
        return rnd.choice(FILLS[lang][name])

    return _SLOT.sub(slot, text) + rnd.choice(SUFFIX[lang])


def daily_weights(cfg: GeneratorConfig, calendar: CalendarSpec) -> np.ndarray:
    """Relative volume per day: weekly pattern and holiday peaks from the business calendar."""
    weights = np.ones(cfg.days)
    holidays = set(calendar.holidays)
    for i in range(cfg.days):
        day = cfg.start + timedelta(days=i)
        if day.isoformat() in holidays:
            weights[i] = cfg.holiday_factor
        elif not is_business_day(calendar, day):
            weights[i] = cfg.weekend_factor
    return weights


def _exact_split(total: int, weights: list[float]) -> list[int]:
    raw = [total * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


def generate(cfg: GeneratorConfig, calendar: CalendarSpec) -> tuple[list[GeneratedTicket], PlantedTruth]:
    """The whole history (ticket order = creation order) and what was planted in it."""
    tickets = list(iter_generate(cfg, calendar))
    return tickets, truth_of(cfg, tickets)


def iter_generate(cfg: GeneratorConfig, calendar: CalendarSpec) -> Iterator[GeneratedTicket]:
    n = cfg.tickets
    rng = np.random.default_rng(cfg.seed)
    rnd = random.Random(cfg.seed)
    tz = ZoneInfo(cfg.timezone)
    # Arrival instants: days by the weekly/holiday weights, hours peaking at 10:00 and 15:00.
    weights = daily_weights(cfg, calendar)
    day_index = np.sort(rng.choice(cfg.days, size=n, p=weights / weights.sum()))
    hours = np.clip(np.where(rng.random(n) < 0.5, rng.normal(10.5, 1.5, n), rng.normal(15.5, 2.0, n)), 0, 23.99)
    seconds = np.sort((day_index * 86400 + hours * 3600).astype(np.int64))
    origin = datetime.combine(cfg.start, datetime.min.time(), tzinfo=tz)

    # Which tickets failed and with which problem: exact counts, trends by position in time.
    failures = round(n * cfg.failure_rate)
    failing = np.sort(rng.choice(n, size=failures, replace=False))
    problem_of: dict[int, int] = {}
    free = failing.copy()
    counts = _exact_split(failures, [p.weight for p in PROBLEMS])
    order = sorted(range(len(PROBLEMS)), key=lambda i: PROBLEMS[i].trend == "flat")  # trends pick first
    for pi in order:
        problem = PROBLEMS[pi]
        t = free / max(n - 1, 1)
        w = {"rising": (0.15 + t) ** 2, "falling": (1.15 - t) ** 2}.get(problem.trend, np.ones(len(free)))
        chosen = rng.choice(len(free), size=counts[pi], replace=False, p=w / w.sum())
        for c in chosen:
            problem_of[int(free[c])] = pi
        free = np.delete(free, chosen)
    marks = rng.permutation(failing)
    reopened = set(marks[: round(n * cfg.reopen_rate)].tolist())
    repeats = set(marks[len(reopened): len(reopened) + round(n * cfg.repeat_rate)].tolist())
    english = rng.random(n) < cfg.en_share
    customers: list[str] = []
    for i in range(n):
        created = (origin + timedelta(seconds=int(seconds[i]))).astimezone(UTC)
        lang = "en" if english[i] else "zh"
        ticket_id = f"{cfg.prefix}-{i:07d}"
        if i in problem_of:
            p = PROBLEMS[problem_of[i]]
            text = render(rnd.choice(p.zh if lang == "zh" else p.en), lang, rnd)
            team = rnd.choice(p.teams)
            ticket = GeneratedTicket(
                id=ticket_id, created_at=created, category=p.category, team=team, channel=rnd.choice(CHANNELS),
                priority=rnd.choice(p.priorities), summary=text[:80], description=text, lang=lang,
                customer=f"C{rnd.randrange(10**9):09d}", root_cause=p.root_cause, failed=True, step=p.step,
                problem=p.key, rating=rnd.choice((1, 2, 2, 3)))
            if i in reopened:
                ticket.reopens = 1 + int(rnd.random() < 0.2)
                ticket.breached = rnd.random() < 0.3
            elif i in repeats and i > 0:
                earlier = rnd.randrange(i)
                ticket.repeat_of, ticket.customer = f"{cfg.prefix}-{earlier:07d}", customers[earlier]
            else:
                ticket.breached = True
        else:
            team = rnd.choice(TEAMS)
            text = render(rnd.choice(ROUTINE[lang]), lang, rnd)
            ticket = GeneratedTicket(
                id=ticket_id, created_at=created, category=CATEGORY_OF_TEAM[team], team=team,
                channel=rnd.choice(CHANNELS), priority=rnd.choice(("P2", "P3", "P3", "P4")), summary=text[:80],
                description=text, lang=lang, customer=f"C{rnd.randrange(10**9):09d}",
                root_cause=rnd.choice(ROUTINE_CAUSES), failed=False, step=None, problem=None,
                rating=rnd.choice((4, 5, 5)))
        customers.append(ticket.customer)
        yield ticket


def truth_of(cfg: GeneratorConfig, tickets: list[GeneratedTicket]) -> PlantedTruth:
    failed = [t for t in tickets if t.failed]
    truth = PlantedTruth(tickets=len(tickets), failures=len(failed))
    for t in failed:
        assert t.problem is not None and t.step is not None
        truth.by_problem[t.problem] = truth.by_problem.get(t.problem, 0) + 1
        truth.step_share[t.step] = truth.step_share.get(t.step, 0) + 1
    truth.step_share = {k: 100 * v / max(len(failed), 1) for k, v in truth.step_share.items()}
    truth.reopen_rate = 100 * sum(1 for t in tickets if t.reopens) / max(len(tickets), 1)
    truth.repeat_rate = 100 * sum(1 for t in tickets if t.repeat_of) / max(len(tickets), 1)
    return truth
