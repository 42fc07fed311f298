"""Agents needed from forecast volume: Erlang C (the M/M/N queue), our own (decision 015).

Tickets of a day arrive at a rate; each takes ``handle_seconds`` of an agent's time; the desk
promises that ``target_share`` of them get a first answer within ``answer_seconds``. Erlang C gives
the probability a ticket must wait with N agents and from it the share answered in time; the
agents needed are the fewest N that meet the promise and keep occupancy at or below the ceiling,
then grossed up for shrinkage (breaks, training, absence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["StaffingNeed", "agents_needed", "average_speed_of_answer", "erlang_c", "service_level"]

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
