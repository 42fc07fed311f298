"""Monthly spot checks (rule 3): who is in a month's population, the verifiable draw, the checklist.

The seed is the hash of the first chain block whose timestamp is at or after a set time after the
month ends (``SEED_RULE``): published in advance, unknown until then, and not the operator's to
choose. Each ticket's draw is ``keccak256(seed || ticket_id)``; within each stratum (team and
category) the tickets with the smallest ``-ln(u) / weight`` are taken (weighted sampling without
replacement, Efraimidis-Spirakis), abnormal feedback weighing ``abnormal_weight`` times more.
Everything here is a pure function of the seed and the milestones, so an auditor recomputes it
from the chain and an export.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from domain.hashing import keccak256
from domain.tickets import MilestoneView

SEED_RULE = "hash of the first block with timestamp >= end of month (UTC) + seed_delay_hours"
CLOSING_KINDS = ("confirmed", "auto_closed")


@dataclass
class Checklist:
    deviations: list[str]
    steps: list[str]
    severities: list[str]


@dataclass
class SpotCheckPolicy:
    min_percent: float
    max_percent: float
    abnormal_weight: float
    low_rating_max: int
    seed_delay_hours: float
    review_days: float
    reminder_days_before: float
    reviewers: list[str]
    escalate_to: str
    checklist: Checklist


@dataclass(frozen=True)
class Candidate:
    """A ticket closed in the month, as its milestones describe it."""

    ticket_id: str
    stratum: str  # "<team>/<category>"
    abnormal: bool
    last_leaf: str = ""


def describe_ticket(ticket_id: str, milestones: Sequence[tuple[str, dict[str, str], str]],
                    low_rating_max: int) -> Candidate:
    """``milestones``: (kind, data, leaf) in chain order. Team follows escalations; abnormal feedback
    is a low rating, a reopen, a repeat complaint or an SLA breach."""
    team = category = ""
    abnormal = False
    for kind, data, _ in milestones:
        if kind == "opened":
            team, category = data.get("team", ""), data.get("category", "")
        elif kind == "escalated":
            team = data.get("to", team)
        elif kind in ("reopened", "repeat_flagged", "sla_breach"):
            abnormal = True
        elif kind == "confirmed" and data.get("rating", "").isdigit() and int(data["rating"]) <= low_rating_max:
            abnormal = True
    return Candidate(ticket_id, f"{team}/{category}", abnormal, milestones[-1][2] if milestones else "")


def draw(seed: str, ticket_id: str) -> float:
    """The ticket's uniform draw in (0, 1) from the seed (0x-hex block hash)."""
    value = int.from_bytes(keccak256(bytes.fromhex(seed.removeprefix("0x")) + ticket_id.encode()), "big")
    return (value + 0.5) / 2**256


def stratum_size(population: int, min_percent: float, max_percent: float) -> int:
    """Aim at the middle of the band and stay inside it when some whole number is (a stratum of 11
    has none: 1 is 9 %, 2 is 18 %, and the middle decides); take at least one."""
    if population == 0:
        return 0
    low, high = math.ceil(population * min_percent / 100), math.floor(population * max_percent / 100)
    target = round(population * (min_percent + max_percent) / 200)
    return max(1, min(max(target, low), high) if low <= high else target)


def select(candidates: Iterable[Candidate], seed: str, policy: SpotCheckPolicy) -> list[Candidate]:
    """The sample, sorted by ticket id."""
    strata: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        strata[c.stratum].append(c)
    chosen: list[Candidate] = []
    for members in strata.values():
        n = stratum_size(len(members), policy.min_percent, policy.max_percent)
        keyed = sorted(members, key=lambda c: (-math.log(draw(seed, c.ticket_id))
                                               / (policy.abnormal_weight if c.abnormal else 1.0), c.ticket_id))
        chosen += keyed[:n]
    return sorted(chosen, key=lambda c: c.ticket_id)


def list_hash(items: Iterable[str]) -> str:
    """One hash over sorted lines: the population (``id|stratum|abnormal``) or the sample (ids)."""
    return "0x" + keccak256("\n".join(sorted(items)).encode()).hex()


def population_line(c: Candidate) -> str:
    return f"{c.ticket_id}|{c.stratum}|{int(c.abnormal)}"


def stratum_counts(population: Iterable[Candidate], sample: Iterable[Candidate]) -> dict[str, list[int]]:
    """``{stratum: [population, sampled]}``."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in population:
        counts[c.stratum][0] += 1
    for c in sample:
        counts[c.stratum][1] += 1
    return dict(sorted(counts.items()))


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------ workflow types


@dataclass
class SpotCheckInput:
    month: str = ""  # empty: the month before the start (what the schedule sends)
    policy: SpotCheckPolicy | None = None  # filled by the kickoff from the policy file


@dataclass
class SeedBlock:
    number: int
    hash: str
    timestamp: int


@dataclass
class SampleRequest:
    month: str
    seed: SeedBlock
    not_before: str  # ISO: the seed rule's instant
    policy: SpotCheckPolicy


@dataclass
class ReviewTask:
    ticket_id: str
    stratum: str
    abnormal: bool
    ticket_leaf: str
    reviewer: str
    due_at: str = ""
    status: str = "open"  # open | reviewed
    reminded: bool = False
    escalated: bool = False
    findings: int = 0


@dataclass
class SampleDrawn:
    tasks: list[ReviewTask]
    milestone: MilestoneView  # the sample's milestone (subject spotcheck-YYYY-MM, seq 0)


@dataclass
class Finding:
    deviation: str
    step: str
    severity: str
    abnormal_feedback: bool = False


@dataclass
class FindingsInput:
    ticket_id: str
    findings: list[Finding] = field(default_factory=list)
    reviewer: str = ""


def spot_check_subject(month: str) -> str:
    return f"spotcheck-{month}"


@dataclass
class RecordSpotCheckInput:
    month: str
    tasks: list[ReviewTask]
    milestones: list[MilestoneView]
    summary: str = ""  # canonical JSON once the month is summarised


@dataclass
class MajorFindingInput:
    """A finding that may be a major complaint against the ticket's team (the policy decides)."""

    month: str
    ticket_id: str
    team: str
    severity: str
    at: str
