"""Personal points (rule 9): what earns or costs points, the month's ledger hash, the ranking.

Pure code: the read model supplies milestones, this module says which ledger entries they make;
the ledger of a month hashes to one Merkle root (sorted-pair keccak, as every anchor) that goes into
an anchored milestone, so an employee can check later that their entries were not changed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.encoding import parse_time
from domain.hashing import keccak256
from domain.merkle import build_tree

LEAF_PREFIX = b"qualitrail.points.v1\x00"
FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"


@dataclass(frozen=True)
class PointsRules:
    """Points per event (policy ``[performance.points]``); a negative number costs points."""

    sla_met: int
    sla_breached: int
    rating: dict[int, int]  # customer rating 1..5 -> points
    # A mystery shopper's score of an agent: this many points per step above (or below) the middle
    # of the criterion's scale, e.g. 4 on 1..5 with 1 per step = +1.
    mystery_points_per_step: int = 0
    mystery_scales: dict[str, tuple[int, int]] = field(default_factory=dict)
    spot_check_finding: dict[str, int] = field(default_factory=dict)  # severity -> points

    def digest(self) -> str:
        doc = {"sla_met": self.sla_met, "sla_breached": self.sla_breached,
               "rating": {str(k): v for k, v in sorted(self.rating.items())},
               "mystery_points_per_step": self.mystery_points_per_step,
               "mystery_scales": {k: list(v) for k, v in sorted(self.mystery_scales.items())},
               "spot_check_finding": dict(sorted(self.spot_check_finding.items()))}
        return "0x" + keccak256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hex()


@dataclass(frozen=True)
class Event:
    """A milestone as the points rules see it."""

    subject: str
    seq: int
    kind: str
    at: str
    data: dict[str, str]


@dataclass(frozen=True)
class Entry:
    """One ledger line: ``source_key`` names the event, so an event is counted once whatever retries."""

    agent: str
    source_key: str
    rule: str
    points: int
    ticket_id: str
    event_at: str


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``"2026-11"`` -> the first instant of November and of December (UTC)."""
    try:
        year, mon = (int(p) for p in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"month must look like YYYY-MM, not {month!r}") from None
    if len(month) != 7:
        raise ValueError(f"month must look like YYYY-MM, not {month!r}")
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_month(now: datetime) -> str:
    now = now.astimezone(UTC)
    return f"{now.year - (now.month == 1)}-{(now.month - 2) % 12 + 1:02d}"


def derive_entries(history: Sequence[Event], rules: PointsRules, start: datetime, end: datetime) -> list[Entry]:
    """The entries one ticket's events in ``[start, end)`` make; ``history`` is the ticket's chain up to ``end``.

    Points go to whoever the ticket was assigned to when the event happened; an event before any
    assignment credits nobody. An SLA clock stopped without a breach is met once per ticket.
    """
    assignee = ""
    breached: set[str] = set()
    met: set[str] = set()
    out: list[Entry] = []
    for e in sorted(history, key=lambda e: e.seq):
        at = parse_time(e.at)
        if at >= end:
            break
        found: list[tuple[str, int]] = []
        if e.kind == "assigned":
            assignee = e.data.get("assignee", "")
        elif e.kind == "sla_breach":
            clock = e.data.get("clock", "")
            breached.add(clock)
            found.append((f"sla_breached:{clock}", rules.sla_breached))
        elif e.kind in ("first_response", "resolved"):
            clocks = [FIRST_RESPONSE] if e.kind == "first_response" else [FIRST_RESPONSE, RESOLUTION]
            for clock in clocks:
                if clock not in breached and clock not in met:
                    met.add(clock)
                    found.append((f"sla_met:{clock}", rules.sla_met))
        elif e.kind == "confirmed" and e.data.get("rating", "").isdigit():
            rating = int(e.data["rating"])
            found.append((f"rating:{rating}", rules.rating.get(rating, 0)))
        if at < start or not assignee:
            continue
        out += [Entry(agent=assignee, source_key=f"{e.subject}:{e.seq}:{rule}",
                      rule=rule, points=points, ticket_id=e.subject, event_at=e.at) for rule, points in found]
    return out


def evaluation_entries(subject: str, agent: str, visited_at: str, scores: dict[str, int],
                       rules: PointsRules) -> list[Entry]:
    """The entries a mystery shopper's scored evaluation of ``agent`` makes, one per criterion."""
    out = []
    for criterion, score in sorted(scores.items()):
        low, high = rules.mystery_scales.get(criterion, (score, score))
        points = math.floor((score - (low + high) / 2) * rules.mystery_points_per_step)
        out.append(Entry(agent=agent, source_key=f"{subject}:0:mystery:{criterion}", rule=f"mystery:{criterion}",
                         points=points, ticket_id=subject, event_at=visited_at))
    return out


def entry_leaf(month: str, entry: Entry) -> bytes:
    doc = {"month": month, "agent": entry.agent, "source_key": entry.source_key, "rule": entry.rule,
           "points": entry.points, "ticket_id": entry.ticket_id, "event_at": entry.event_at}
    return keccak256(LEAF_PREFIX + json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


def ledger_root(month: str, entries: Iterable[Entry]) -> str:
    """The month's ledger as one hash: the Merkle root over its entries in ``source_key`` order."""
    leaves = [entry_leaf(month, e) for e in sorted(entries, key=lambda e: e.source_key)]
    if not leaves:
        return "0x" + keccak256(LEAF_PREFIX + month.encode()).hex()  # an empty month still closes
    return "0x" + build_tree(leaves).root.hex()


@dataclass(frozen=True)
class Rank:
    agent: str
    total: int
    rank: int
    flagged: bool


def rank_agents(totals: dict[str, int], top_percent: float) -> list[Rank]:
    """Ranks agents by total (competition ranking: 1, 2, 2, 4) and flags the top ``top_percent``.

    The top is ``ceil(n * top_percent / 100)`` places; everyone tied with the last of those places
    is flagged too, so equal points get equal reward. Only a positive total can be rewarded.
    """
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ordered:
        return []
    places = max(1, math.ceil(len(ordered) * top_percent / 100))
    line = ordered[places - 1][1]
    out: list[Rank] = []
    for index, (agent, total) in enumerate(ordered):
        rank = index + 1 if index == 0 or total != ordered[index - 1][1] else out[-1].rank
        out.append(Rank(agent=agent, total=total, rank=rank, flagged=total >= line and total > 0))
    return out


@dataclass
class PointsMonthInput:
    """The month to close; empty = the month before the workflow's start (what the schedule sends)."""

    month: str = ""


@dataclass
class MonthClosed:
    month: str
    ledger_root: str
    entry_count: int
    agent_count: int
    flagged: list[str]
    milestone_leaf: str
