"""Agents needed from forecast volume: Erlang C (the M/M/N queue), our own (decision 015).

Tickets of a day arrive at a rate; each takes ``handle_seconds`` of an agent's time; the desk
promises that ``target_share`` of them get a first answer within ``answer_seconds``. Erlang C gives
the probability a ticket must wait with N agents and from it the share answered in time; the
agents needed are the fewest N that meet the promise and keep occupancy at or below the ceiling,
then grossed up for shrinkage (breaks, training, absence).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from analysis.forecast import Forecast
from domain.policy import StaffingModel

__all__ = ["DayNeed", "StaffingNeed", "agents_needed", "average_speed_of_answer", "daily_plan", "erlang_c",
           "service_level", "shortfalls"]

MAX_AGENTS = 100_000


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that an arrival waits, for ``traffic`` Erlangs offered to ``agents`` agents.

    Computed through the Erlang B recursion (``B(n) = A·B(n-1) / (n + A·B(n-1))``), which never
    forms ``A^N / N!`` and so stays exact for thousands of agents. 1.0 when ``agents <= traffic``.
    """
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError(f"traffic must be a finite number >= 0, got {traffic!r}")
    if agents <= 0 or traffic >= agents:
        return 1.0
    if traffic == 0:
        return 0.0
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    rho = traffic / agents
    return b / (1 - rho + rho * b)


def service_level(traffic: float, agents: int, handle_seconds: float, answer_seconds: float) -> float:
    """Share of arrivals answered within ``answer_seconds``: ``1 - C·exp(-(N - A)·t / AHT)``."""
    if agents <= traffic:
        return 0.0
    wait = erlang_c(traffic, agents)
    return max(0.0, 1.0 - wait * math.exp(-(agents - traffic) * answer_seconds / handle_seconds))


def average_speed_of_answer(traffic: float, agents: int, handle_seconds: float) -> float:
    """Mean wait before an answer, in seconds: ``C·AHT / (N - A)`` (infinite when overloaded)."""
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * handle_seconds / (agents - traffic)


@dataclass(frozen=True)
class StaffingNeed:
    """Agents needed on shift (``on_shift``) and on the roster (``rostered``, after shrinkage)."""

    traffic: float
    on_shift: int
    rostered: int
    service_level: float
    occupancy: float
    asa_seconds: float


def agents_needed(*, arrivals: float, period_seconds: float, handle_seconds: float, answer_seconds: float,
                  target_share: float, max_occupancy: float = 1.0, shrinkage: float = 0.0) -> StaffingNeed:
    """The fewest agents meeting ``target_share`` answered within ``answer_seconds``.

    Args:
        arrivals: Tickets arriving in the period.
        period_seconds: Length of the period the agents work (e.g. 8 staffed hours of a day).
        handle_seconds: Mean agent time per ticket.
        answer_seconds: The promise's waiting limit (e.g. the first-response target).
        target_share: Share of tickets to answer within the limit (0-1).
        max_occupancy: Highest share of time agents may be busy (0-1].
        shrinkage: Share of paid time not available for tickets [0-1).
    """
    if arrivals < 0 or period_seconds <= 0 or handle_seconds <= 0 or answer_seconds < 0:
        raise ValueError("arrivals >= 0, period_seconds > 0, handle_seconds > 0 and answer_seconds >= 0 needed")
    if not 0 < target_share < 1 or not 0 < max_occupancy <= 1 or not 0 <= shrinkage < 1:
        raise ValueError("target_share in (0, 1), max_occupancy in (0, 1], shrinkage in [0, 1) needed")
    traffic = arrivals * handle_seconds / period_seconds
    if traffic == 0:
        return StaffingNeed(0.0, 0, 0, 1.0, 0.0, 0.0)
    agents = max(1, math.floor(traffic) + 1, math.ceil(traffic / max_occupancy))
    while service_level(traffic, agents, handle_seconds, answer_seconds) < target_share:
        agents += 1
        if agents > MAX_AGENTS:
            raise ValueError(f"more than {MAX_AGENTS} agents needed: check the inputs")
    return StaffingNeed(traffic=traffic, on_shift=agents, rostered=math.ceil(agents / (1 - shrinkage)),
                        service_level=service_level(traffic, agents, handle_seconds, answer_seconds),
                        occupancy=traffic / agents,
                        asa_seconds=average_speed_of_answer(traffic, agents, handle_seconds))


@dataclass(frozen=True)
class DayNeed:
    """Agents one team needs on one day, from that day's forecast volume."""

    day: date
    team: str
    volume: float
    need: StaffingNeed


def daily_plan(forecasts: Sequence[Forecast], team_of: Mapping[str, str], staffing: StaffingModel,
               answer_seconds: Mapping[str, float]) -> list[DayNeed]:
    """Agents needed per day and team: the forecast volume of the team's categories (all channels)
    spread over the staffed hours, each ticket ``staffing.handle_seconds(team)``, answered within the
    team's first-response target (``answer_seconds[team]``) at ``staffing.target_percent``.

    A category without a team in ``team_of`` counts for the team ``"default"``.
    """
    volume: dict[tuple[date, str], float] = defaultdict(float)
    for f in forecasts:
        team = team_of.get(f.key[0], "default")
        for day, v in zip(f.days, f.volume, strict=True):
            volume[(day, team)] += v
    plan = []
    for (day, team), v in sorted(volume.items()):
        need = agents_needed(arrivals=v, period_seconds=staffing.staffed_hours_per_day * 3600,
                             handle_seconds=staffing.handle_seconds(team),
                             answer_seconds=answer_seconds.get(team, answer_seconds.get("default", 1800.0)),
                             target_share=staffing.target_percent / 100,
                             max_occupancy=staffing.max_occupancy_percent / 100,
                             shrinkage=staffing.shrinkage_percent / 100)
        plan.append(DayNeed(day=day, team=team, volume=v, need=need))
    return plan


def shortfalls(plan: Sequence[DayNeed], roster: Mapping[tuple[date, str], int]) -> list[tuple[DayNeed, int]]:
    """Days and teams whose roster on record (agents, by (day, team)) is below the need: (need, short by)."""
    short = []
    for row in plan:
        have = roster.get((row.day, row.team), 0)
        if have < row.need.rostered:
            short.append((row, row.need.rostered - have))
    return short
