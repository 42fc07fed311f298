"""The digital twin's scenarios: what happens to each ticket and when, and what a history recorded.

A scenario is one ticket's life as the desk and the customer lived it: when it arrived, and after
how many seconds the agent answered, the ticket waited on the customer, its priority changed, it
was resolved, reopened or confirmed. The twin replays scenarios through the real ``TicketWorkflow``
(``cli/twin_run.py``); this module only makes them, from a seeded generator or from a history,
and computes what a history records as breached (with the same clock code the workflow uses).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from domain.sla_clock import FIRST_RESPONSE, RESOLUTION
from domain.ticket_views import opening_clocks, target_seconds
from domain.tickets import TicketPolicy

__all__ = ["ACTIONS", "HistoryTicket", "PolicyOf", "Scenario", "Step", "bootstrap", "generate_history", "load_history",
           "recorded_outcome", "dump_history"]

# What a scenario can do to its ticket, each the TicketWorkflow Update of the same meaning.
ACTIONS = ("respond", "wait", "reply", "priority", "resolve", "reopen", "confirm")
CLOCKS = (FIRST_RESPONSE, RESOLUTION)


# A ticket's policy from its category and team (e.g. ``functools.partial(Policy.ticket_policy, ...)``).
PolicyOf = Callable[[str, str], TicketPolicy]


@dataclass(frozen=True)
class Step:
    """One command on a ticket, ``at`` seconds after it opened; ``value`` is a priority or a rating."""

    at: float
    action: str
    value: str = ""


@dataclass(frozen=True)
class Scenario:
    """One ticket: arrival (seconds after the run's start), its attributes, and its steps in order."""

    ticket_id: str
    arrival: float
    priority: str
    category: str
    team: str
    channel: str
    steps: tuple[Step, ...] = ()

    def end(self) -> float:
        """Seconds after the run's start of the last step."""
        return self.arrival + (self.steps[-1].at if self.steps else 0.0)


@dataclass(frozen=True)
class HistoryTicket:
    """A ticket of a history: its scenario and what was recorded (breached clocks, vouchers paid)."""

    scenario: Scenario
    breaches: tuple[str, ...] = ()
    voucher_minor: int = 0


@dataclass(frozen=True)
class _Mix:
    """How the generator draws tickets (fixed numbers: a generator, not the policy)."""

    priorities: dict[str, float] = field(default_factory=lambda: {"P1": 0.1, "P2": 0.25, "P3": 0.5, "P4": 0.15})
    categories: tuple[str, ...] = ("delivery", "billing", "complaint", "quality")
    teams: dict[str, str] = field(default_factory=lambda: {"delivery": "logistics", "billing": "billing",
                                                           "complaint": "after-sales", "quality": "after-sales"})
    channels: tuple[str, ...] = ("app", "web", "phone", "email", "branch")
    respond_share: float = 0.55  # median first response as a share of its target
    resolve_share: float = 0.5  # median resolution time as a share of its target
    spread: float = 0.75  # log-normal sigma of both
    wait_probability: float = 0.3
    priority_change_probability: float = 0.08
    reopen_probability: float = 0.1
    confirm_probability: float = 0.6


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _minute(seconds: float) -> float:
    # Steps land on whole minutes: the twin advances its clock minute by minute.
    return float(max(60, round(seconds / 60) * 60))


def generate_history(seed: int, count: int, policy_of: PolicyOf, *, days: int = 28,
                     start: datetime | None = None) -> list[HistoryTicket]:
    """A seeded history of ``count`` tickets over ``days``, with what the policy records of each.

    ``policy_of`` gives a ticket's policy from its category and team (``Policy.ticket_policy``).

    Arrivals follow a weekly pattern (fewer at weekends); response and resolution times are
    log-normal around a share of each priority's targets, so some tickets breach; some wait on the
    customer, change priority, are reopened or confirmed. ``start`` anchors the clock math
    (default: a fixed Monday); the recorded breaches are ``recorded_outcome`` under ``policy``.
    """
    rng = random.Random(seed)
    mix = _Mix()
    start = start or datetime.fromisoformat("2026-11-02T00:00:00+00:00")
    weekday_weight = (1.2, 1.1, 1.0, 1.0, 1.1, 0.7, 0.6)
    day_weights = [weekday_weight[(start + timedelta(days=d)).weekday()] for d in range(days)]
    priorities, weights = zip(*mix.priorities.items(), strict=True)
    history = []
    for i in range(count):
        day = rng.choices(range(days), weights=day_weights)[0]
        arrival = float(day * 86400 + rng.randrange(0, 86400 // 60) * 60)
        priority = rng.choices(priorities, weights=weights)[0]
        category = rng.choice(mix.categories)
        policy = policy_of(category, mix.teams[category])
        scenario = Scenario(ticket_id=f"hist-{seed}-{i:06d}", arrival=arrival, priority=priority, category=category,
                            team=mix.teams[category], channel=rng.choice(mix.channels),
                            steps=tuple(_steps(rng, mix, policy, priority, list(priorities))))
        breaches, voucher = recorded_outcome(scenario, policy, start)
        history.append(HistoryTicket(scenario, breaches, voucher))
    history.sort(key=lambda h: (h.scenario.arrival, h.scenario.ticket_id))
    return history


def _steps(rng: random.Random, mix: _Mix, policy: TicketPolicy, priority: str, priorities: list[str]) -> list[Step]:
    fr_target = target_seconds(policy, priority, FIRST_RESPONSE)
    res_target = target_seconds(policy, priority, RESOLUTION)
    steps = [Step(_minute(_lognormal(rng, mix.respond_share * fr_target, mix.spread)), "respond")]
    now = steps[0].at
    work = _lognormal(rng, mix.resolve_share * res_target, mix.spread)
    if rng.random() < mix.priority_change_probability:
        at = _minute(now + rng.uniform(0.05, 0.5) * work)
        steps.append(Step(at, "priority", rng.choice([p for p in priorities if p != priority])))
    if rng.random() < mix.wait_probability:
        at = _minute(max(now, steps[-1].at) + rng.uniform(0.1, 0.6) * work)
        steps.append(Step(at, "wait"))
        steps.append(Step(_minute(at + _lognormal(rng, 4 * 3600, 1.0)), "reply"))
    now = max(s.at for s in steps)
    resolve_at = _minute(max(now + 60, work))
    steps.append(Step(resolve_at, "resolve"))
    if rng.random() < mix.reopen_probability:
        reopen_at = _minute(resolve_at + rng.uniform(1, 48) * 3600)
        steps.append(Step(reopen_at, "reopen"))
        steps.append(Step(_minute(reopen_at + _lognormal(rng, 0.2 * res_target, mix.spread)), "resolve"))
    if rng.random() < mix.confirm_probability:
        steps.append(Step(_minute(steps[-1].at + rng.uniform(0.5, 24) * 3600), "confirm", str(rng.randint(1, 5))))
    return steps


def recorded_outcome(scenario: Scenario, policy: TicketPolicy, start: datetime) -> tuple[tuple[str, ...], int]:
    """The clocks a ticket living ``scenario`` breaches under ``policy`` and the vouchers it is owed.

    The same SLA clock code and the same order as ``TicketWorkflow``: at each step, every event
    due by then fires first (a breach due at the very instant of a response counts), then the
    step applies. This is what a history records for the ticket.
    """
    opened = start + timedelta(seconds=scenario.arrival)
    priority = scenario.priority
    clocks = opening_clocks(policy, priority, opened)
    cal = policy.calendar
    breaches: list[str] = []
    voucher = 0
    paused = False

    def fire(now: datetime) -> None:
        nonlocal voucher
        for name, clock in clocks.items():
            if "breach" in clock.due_events(cal, now, policy.warning_levels) and name not in breaches:
                clock.mark_fired("breach")
                breaches.append(name)
                voucher += policy.compensation.get(name, {}).get(priority, 0)

    for step in scenario.steps:
        now = opened + timedelta(seconds=step.at)
        fire(now)
        if step.action == "respond":
            clocks[FIRST_RESPONSE].stop(cal, now)
        elif step.action == "wait" and not paused:
            clocks[RESOLUTION].pause(cal, now)
            paused = True
        elif step.action == "reply" and paused:
            clocks[RESOLUTION].resume(cal, now)
            paused = False
        elif step.action == "priority":
            priority = step.value
            for name, clock in clocks.items():
                if not clock.stopped:
                    clock.retarget(target_seconds(policy, priority, name))
        elif step.action == "resolve":
            for clock in clocks.values():
                clock.stop(cal, now)
            paused = False
        elif step.action == "reopen":
            clocks[RESOLUTION].restart(now)
    return tuple(breaches), voucher


def bootstrap(history: Sequence[HistoryTicket], count: int, seed: int) -> list[Scenario]:
    """``count`` scenarios drawn from ``history``: each a recorded ticket's life (its response and
    resolution times, waits, priority change, reopen), at an arrival drawn from the recorded ones."""
    if not history:
        raise ValueError("the history has no tickets to draw scenarios from")
    rng = random.Random(seed)
    arrivals = [h.scenario.arrival for h in history]
    drawn = []
    for i in range(count):
        s = rng.choice(history).scenario
        drawn.append(Scenario(ticket_id=f"twin-{seed}-{i:06d}", arrival=rng.choice(arrivals), priority=s.priority,
                              category=s.category, team=s.team, channel=s.channel, steps=s.steps))
    drawn.sort(key=lambda s: (s.arrival, s.ticket_id))
    return drawn


def dump_history(history: Iterable[HistoryTicket]) -> str:
    """A history as JSON lines, one ticket a line (``load_history`` reads it back)."""
    return "".join(json.dumps(asdict(h), ensure_ascii=False, sort_keys=True) + "\n" for h in history)


def load_history(text: str) -> list[HistoryTicket]:
    """Reads JSON lines written by ``dump_history``; a bad line raises ValueError naming it."""
    history = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            s = raw["scenario"]
            steps = tuple(Step(float(st["at"]), str(st["action"]), str(st.get("value", ""))) for st in s["steps"])
            for st in steps:
                if st.action not in ACTIONS or not math.isfinite(st.at) or st.at < 0:
                    raise ValueError(f"bad step {st}")
            scenario = Scenario(ticket_id=str(s["ticket_id"]), arrival=float(s["arrival"]),
                                priority=str(s["priority"]), category=str(s["category"]), team=str(s["team"]),
                                channel=str(s["channel"]), steps=steps)
            history.append(HistoryTicket(scenario, tuple(str(b) for b in raw.get("breaches", ())),
                                         int(raw.get("voucher_minor", 0))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"history line {number}: {exc}") from exc
    return history
