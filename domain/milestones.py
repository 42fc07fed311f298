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

from domain.encoding import format_time, to_hex
from domain.hashing import keccak256

FORMAT_VERSION = 1
LEAF_DOMAIN = b"qualitrail.milestone.v1\x00"
GENESIS = "0x" + "00" * 32

# How a batch's Merkle tree is built from its milestone leaves (docs/evidence-format.md). Format 1:
# the tree's leaves are the milestone leaves. Format 2: each tree leaf is OpenZeppelin's double-hashed
# leaf over (milestone leaf, keccak256(kind)), so no inner node or root can pass as a milestone and the
# voucher contract can check that a leaf is an SLA breach. New batches are format 2.
BATCH_FORMAT_V1 = 1
BATCH_FORMAT_V2 = 2
BATCH_FORMATS = (BATCH_FORMAT_V1, BATCH_FORMAT_V2)
CURRENT_BATCH_FORMAT = BATCH_FORMAT_V2


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
    return to_hex(keccak256(LEAF_DOMAIN + canonical_bytes(subject, seq, kind, at, prev, data)))


def new_milestone(subject: str, previous: Milestone | None, kind: str, at: datetime,
                  data: dict[str, str] | None = None) -> Milestone:
    """Appends to a subject's chain: the sequence number and previous leaf come from its last link."""
    seq = 0 if previous is None else previous.seq + 1
    prev = GENESIS if previous is None else previous.leaf
    payload = dict(data or {})
    m = Milestone(subject=subject, seq=seq, kind=kind, at=at, prev=prev, data=payload)
    m.leaf = leaf_hash(subject, seq, kind, format_time(at), prev, payload)
    return m


def kind_hash(kind: str) -> bytes:
    """``keccak256(utf8(kind))``: how a format 2 tree leaf and the contracts name a milestone kind."""
    return keccak256(kind.encode("utf-8"))


def tree_leaf(leaf: bytes, kind: str, batch_format: int) -> bytes:
    """The leaf a milestone contributes to its batch's Merkle tree.

    Args:
        leaf: The 32-byte milestone leaf (the hash-chain link).
        kind: The milestone's kind.
        batch_format: The batch's format (:py:data:`BATCH_FORMATS`).

    Returns:
        Format 1: ``leaf`` itself. Format 2:
        ``keccak256(keccak256(leaf || keccak256(kind)))`` (Solidity:
        ``keccak256(bytes.concat(keccak256(abi.encode(leaf, kindHash))))``).

    Raises:
        ValueError: For an unknown format.
    """
    if batch_format == BATCH_FORMAT_V1:
        return bytes(leaf)
    if batch_format == BATCH_FORMAT_V2:
        return keccak256(keccak256(bytes(leaf) + kind_hash(kind)))
    raise ValueError(f"unknown batch format {batch_format}")


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


def customer_ref_hash(secret: bytes, ticket_id: str, customer_ref: str) -> str:
    """The customer's reference as it appears in one ticket's evidence (milestones, certificates, chain).

    Keyed and bound to the ticket: two tickets of one customer carry unrelated values, so public
    certificates cannot be linked to each other, and a guess must be tested with the secret, per ticket.

    Args:
        secret: The operator secret (``QT_SECRET_KEY``).
        ticket_id: The ticket (NUL-free, as the API enforces).
        customer_ref: The customer's reference.

    Returns:
        ``0x``-hex HMAC-SHA256.
    """
    return salted_hash(secret, f"{ticket_id}\x00{customer_ref}", "customer.ticket")


def customer_match_hash(secret: bytes, customer_ref: str) -> str:
    """The server's own key for finding a customer's other tickets (repeat complaints).

    It is the same for every ticket of a customer, so it must never leave the server: it lives in the
    read model's ticket row and the workflow's input, never in a milestone, certificate or API answer.
    It equals what the public hash was before it became per-ticket, so tickets recorded before that
    change still match.

    Args:
        secret: The operator secret.
        customer_ref: The customer's reference.

    Returns:
        ``0x``-hex HMAC-SHA256.
    """
    return salted_hash(secret, customer_ref, "customer")


def salted_hash(secret: bytes, value: str, purpose: str) -> str:
    """A keyed hash for values that could be guessed (customer references, free text).

    HMAC-SHA256 keyed by the operator's secret: the same customer maps to the same reference (so
    repeat complaints are found) but nobody without the secret can test a guess against it.
    """
    return "0x" + hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
