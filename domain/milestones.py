"""Milestones and their leaf hashes: the per-subject hash chain of the evidence model.

The encoding is specified in docs/evidence-format.md and must never change for version 1: anchored
leaves are verified years later by auditors who recompute these bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime

from domain.encoding import format_time
from domain.hashing import keccak256

FORMAT_VERSION = 1
LEAF_DOMAIN = b"qualitrail.milestone.v1\x00"
GENESIS = "0x" + "00" * 32


class MilestoneKind:
    OPENED = "opened"
    REPEAT_FLAGGED = "repeat_flagged"
    ASSIGNED = "assigned"
    FIRST_RESPONSE = "first_response"
    NOTE_ADDED = "note_added"
    PAUSED = "paused"
    RESUMED = "resumed"
    PRIORITY_CHANGED = "priority_changed"
    POLICY_CHANGED = "policy_changed"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    AUTO_CLOSED = "auto_closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    VOUCHER_ISSUED = "voucher_issued"
    VOUCHER_REDEEMED = "voucher_redeemed"
    VOUCHER_FAILED = "voucher_failed"
    TOKEN_REVOKED = "token_revoked"
    MEETING_LINKED = "meeting_linked"
    MEETING_SOLUTION = "meeting_solution"
    POINTS_MONTH_CLOSED = "points_month_closed"  # subject "points-YYYY-MM": the month ledger's root


@dataclass
class Milestone:
    subject: str
    seq: int
    kind: str
    at: datetime
    prev: str
    data: dict[str, str] = field(default_factory=dict)
    leaf: str = ""


def canonical_bytes(subject: str, seq: int, kind: str, at: str, prev: str, data: dict[str, str]) -> bytes:
    """The exact bytes that are hashed: JSON, sorted keys, no spaces, ASCII escapes."""
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("milestone data must map str to str")
    doc = {"v": FORMAT_VERSION, "subject": subject, "seq": seq, "kind": kind, "at": at, "prev": prev,
           "data": data}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def leaf_hash(subject: str, seq: int, kind: str, at: str, prev: str, data: dict[str, str]) -> str:
    """keccak256(domain prefix || canonical bytes) as 0x-hex. Always longer than 64 bytes hashed."""
    return "0x" + keccak256(LEAF_DOMAIN + canonical_bytes(subject, seq, kind, at, prev, data)).hex()


def new_milestone(subject: str, previous: Milestone | None, kind: str, at: datetime,
                  data: dict[str, str] | None = None) -> Milestone:
    """Appends to a subject's chain: the sequence number and previous leaf come from its last link."""
    seq = 0 if previous is None else previous.seq + 1
    prev = GENESIS if previous is None else previous.leaf
    payload = dict(data or {})
    m = Milestone(subject=subject, seq=seq, kind=kind, at=at, prev=prev, data=payload)
    m.leaf = leaf_hash(subject, seq, kind, format_time(at), prev, payload)
    return m


@dataclass
class ChainProblem:
    seq: int
    problem: str


def verify_chain(subject: str, links: list[dict[str, object]]) -> list[ChainProblem]:
    """Checks a subject's milestones (dicts with seq/kind/at/prev/data/leaf) form an unbroken chain.

    Returns every problem found (recomputed leaf differs, gap or reordering, wrong prev link).
    """
    problems: list[ChainProblem] = []
    prev = GENESIS
    for expected_seq, link in enumerate(links):
        seq = int(str(link["seq"]))
        if seq != expected_seq:
            problems.append(ChainProblem(seq, f"sequence {seq} where {expected_seq} was expected"))
        if link["prev"] != prev:
            problems.append(ChainProblem(seq, "previous-leaf link broken"))
        data = link["data"]
        assert isinstance(data, dict)
        recomputed = leaf_hash(subject, seq, str(link["kind"]), str(link["at"]), str(link["prev"]), data)
        if recomputed != link["leaf"]:
            problems.append(ChainProblem(seq, "leaf hash does not match the milestone's content"))
        prev = str(link["leaf"])
    return problems


def salted_hash(secret: bytes, value: str, purpose: str) -> str:
    """A keyed hash for values that could be guessed (customer references, free text).

    HMAC-SHA256 keyed by the operator's secret: the same customer maps to the same reference (so
    repeat complaints are found) but nobody without the secret can test a guess against it.
    """
    return "0x" + hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
