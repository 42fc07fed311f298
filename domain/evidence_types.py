"""Types and ids of the anchoring and compensation pipeline, shared by workflows and activities.

Plain dataclasses, so Temporal's default converter carries them and fields can be added later
with defaults without breaking running workflows. The id derivations below are part of the
evidence format: auditors recompute them, so they never change for version 1.

Pure code with no I/O: it is imported inside Temporal workflow sandboxes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.hashing import keccak256

__all__ = [
    "BATCH_ID_DOMAIN",
    "AnchorBatchInput",
    "AnchorBatchResult",
    "AnchoringBounds",
    "AnchoringInput",
    "AnchoringStatus",
    "NextBatchInput",
    "PrepareBatchInput",
    "PreparedBatch",
    "ReconcileInput",
    "ReconcileResult",
    "batch_id_for",
    "claim_hash",
    "customer_ref_bytes",
]

BATCH_ID_DOMAIN = b"qualitrail.batch.v1\x00"
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")


def batch_id_for(batch_no: int) -> bytes:
    """Return the on-chain id of batch ``batch_no``.

    ``keccak256("qualitrail.batch.v1\\x00" || uint256(batch_no))``: deterministic, so a retried or
    restarted activity asks the registry about the same id it may already have anchored.

    Args:
        batch_no: The batch number (from 1).

    Returns:
        The 32-byte batch id.

    Raises:
        ValueError: If ``batch_no`` is not positive.
    """
    if batch_no < 1:
        raise ValueError("batch numbers start at 1")
    return keccak256(BATCH_ID_DOMAIN + batch_no.to_bytes(32, "big"))


def claim_hash(claim_id: str) -> bytes:
    """Return the on-chain claim id: ``keccak256(utf8(claim_id))``.

    Args:
        claim_id: The claim, ``"<ticket id>:<breach kind>"``.

    Returns:
        The 32-byte claim id.
    """
    return keccak256(claim_id.encode("utf-8"))


def customer_ref_bytes(customer_ref_hash: str) -> bytes:
    """Return a customer reference hash as the contract's ``bytes32 customerRef``.

    The API stores references as ``0x`` + 64 hex digits (a keyed hash), which is used as is.
    Anything else (older or hand-made references) is hashed with keccak-256, so the raw value
    never reaches the chain.

    Args:
        customer_ref_hash: The ticket's customer reference hash.

    Returns:
        32 bytes.
    """
    if _HEX32.match(customer_ref_hash):
        return bytes.fromhex(customer_ref_hash[2:])
    return keccak256(b"qualitrail.customer.v1\x00" + customer_ref_hash.encode("utf-8"))


@dataclass
class AnchoringBounds:
    """When a batch is cut: at ``max_leaves`` or when the oldest leaf is ``max_wait_seconds`` old."""

    max_leaves: int
    max_wait_seconds: float


@dataclass
class AnchoringInput:
    """Input of the long-running AnchoringWorkflow, carried across continue-as-new.

    Attributes:
        next_batch_no: The batch number to prepare next; 0 asks the read model (first start).
        max_leaves: Size bound of a batch.
        max_wait_seconds: Time bound: the oldest pending leaf waits at most this long.
        poll_seconds: How long one ``prepare_batch`` call waits for a first leaf.
        reconcile_every: Run the reorg check every this many iterations (and at each run's start).
        reconcile_depth: How many of the newest anchored batches a reconcile may look at.
        max_batches_per_run: Continue-as-new after this many batches...
        max_idle_polls_per_run: ...or this many empty polls, to keep the history bounded.
        anchor_timeout_seconds: start-to-close timeout of one anchoring attempt (receipt and
            confirmations included).
    """

    next_batch_no: int = 0
    max_leaves: int = 256
    max_wait_seconds: float = 2.0
    poll_seconds: float = 10.0
    reconcile_every: int = 30
    reconcile_depth: int = 256
    max_batches_per_run: int = 200
    max_idle_polls_per_run: int = 60
    anchor_timeout_seconds: float = 300.0


@dataclass
class AnchoringStatus:
    """What the anchoring workflow is doing (its query)."""

    next_batch_no: int
    batches_this_run: int
    idle_polls_this_run: int
    iterations_this_run: int
    last_root: str = ""
    last_tx_hash: str = ""
    reanchored: list[int] = field(default_factory=list)


@dataclass
class NextBatchInput:
    """Input of ``next_batch_number`` (no fields yet; a dataclass so fields can be added)."""


@dataclass
class PrepareBatchInput:
    """Input of ``prepare_batch``.

    Attributes:
        batch_no: The number the batch gets.
        max_leaves: Cut as soon as this many leaves are pending.
        max_wait_seconds: Cut when the oldest pending leaf is this old.
        poll_seconds: Give up (empty result) if no leaf is pending for this long.
    """

    batch_no: int
    max_leaves: int
    max_wait_seconds: float
    poll_seconds: float = 10.0


@dataclass
class PreparedBatch:
    """A batch in the read model; ``leaf_count == 0`` means nothing was pending."""

    batch_no: int
    leaf_count: int = 0
    batch_id: str = ""
    root: str = ""
    status: str = ""  # prepared | anchored


@dataclass
class AnchorBatchInput:
    """Input of ``anchor_batch``."""

    batch_no: int


@dataclass
class AnchorBatchResult:
    """Where a batch is anchored.

    Attributes:
        sent: Whether this attempt sent the transaction (``False``: found on chain or recorded).
    """

    batch_no: int
    batch_id: str
    root: str
    leaf_count: int
    tx_hash: str
    block_number: int
    block_hash: str
    sent: bool


@dataclass
class ReconcileInput:
    """Input of ``reconcile_anchors`` / ``reconcile_vouchers``.

    Attributes:
        max_batches: Look at no more than this many of the newest anchored batches.
    """

    max_batches: int = 256


@dataclass
class ReconcileResult:
    """What a reconcile found and repaired.

    Attributes:
        checked: Batches (or vouchers) whose on-chain record was checked.
        reanchored: Batch numbers sent again because they were gone from the chain.
        moved: Batch numbers still anchored but in another block (re-included): record updated.
        reissued: Claim ids whose voucher was issued again.
        reredeemed: Voucher ids whose redemption was sent again.
        problems: Human-readable problems that need an operator.
    """

    checked: int = 0
    reanchored: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    reissued: list[str] = field(default_factory=list)
    reredeemed: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
