"""Read-model reads and writes of the evidence pipeline: batches, proofs, vouchers.

Ticket rows and milestone appends stay in :py:mod:`readmodel.crud`; this module owns what the
anchoring and compensation activities (and the voucher API) write. Like crud, every writer is
idempotent, because activities are retried: a batch is keyed on its batch number, a voucher on its
claim id, and the chain stays the source of truth for what was anchored, issued and redeemed.

Batch layout (part of the evidence format, see docs/anchoring.md): the leaves of batch ``n`` are
the milestones with ``batch_no = n`` in ascending ``id`` order, which is the order they were
persisted in; the Merkle tree is :py:func:`domain.merkle.build_tree` of those leaves.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.evidence_types import batch_id_for
from domain.merkle import build_tree
from readmodel.models import AnchorBatch, Milestone, Voucher

__all__ = [
    "ANCHORED",
    "PREPARED",
    "anchored_batches_newest_first",
    "batch_leaves",
    "claim_batch",
    "get_batch",
    "get_voucher",
    "leaf_with_batch",
    "mark_anchored",
    "mark_redeemed",
    "next_batch_number",
    "pending_stats",
    "record_voucher",
    "redeemed_vouchers_newest_first",
    "voucher_by_id",
    "vouchers_newest_first",
    "vouchers_of_ticket",
]

PREPARED = "prepared"
ANCHORED = "anchored"
_CLAIM_ATTEMPTS = 20


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ batches


def get_batch(*, session: Session, batch_no: int) -> AnchorBatch | None:
    """Return batch ``batch_no``, or ``None`` if it was never prepared.

    Args:
        session: Read-model session.
        batch_no: The batch number.

    Returns:
        The batch row.
    """
    return session.get(AnchorBatch, batch_no)


def next_batch_number(*, session: Session) -> int:
    """Return where a freshly started anchoring workflow should carry on.

    The lowest batch that is prepared but not anchored (it must be anchored before any newer
    one), else one past the highest batch, else 1.

    Args:
        session: Read-model session.

    Returns:
        A batch number, from 1.
    """
    unfinished = session.exec(
        select(func.min(AnchorBatch.batch_no)).where(AnchorBatch.status != ANCHORED)
    ).one()
    if unfinished is not None:
        return int(unfinished)
    highest = session.exec(select(func.max(AnchorBatch.batch_no))).one()
    return 1 if highest is None else int(highest) + 1


def pending_stats(*, session: Session) -> tuple[int, str | None]:
    """Count the milestones waiting for a batch.

    Args:
        session: Read-model session.

    Returns:
        ``(count, time of the oldest as stored in Milestone.at)``; the time is ``None`` when none
        is pending. Times share one fixed-width UTC spelling, so the string minimum is the oldest.
    """
    count, oldest = session.exec(
        select(func.count(), func.min(Milestone.at)).where(col(Milestone.batch_no).is_(None))
    ).one()
    return int(count), oldest


def claim_batch(*, session: Session, batch_no: int, max_leaves: int) -> AnchorBatch | None:
    """Claim up to ``max_leaves`` pending milestones as batch ``batch_no``, in one transaction.

    Builds the Merkle tree, stores each leaf's proof and the batch row, and commits. Idempotent:
    if the batch exists (an earlier attempt, or a concurrent one that won) it is returned as is
    and nothing is claimed.

    Args:
        session: Read-model session (committed or rolled back here).
        batch_no: The batch number the workflow chose.
        max_leaves: Most leaves to claim.

    Returns:
        The batch, or ``None`` if nothing was pending.
    """
    for _ in range(_CLAIM_ATTEMPTS):
        existing = get_batch(session=session, batch_no=batch_no)
        if existing is not None:
            return existing
        _claim_pending(session, batch_no, max_leaves)
        rows = list(
            session.exec(select(Milestone).where(Milestone.batch_no == batch_no).order_by(col(Milestone.id)))
        )
        if rows:
            break
        session.rollback()
        if pending_stats(session=session)[0] == 0:
            return None
        # Every pending row was held by a concurrent claim that may still roll back: look again.
        time.sleep(0.05)
    else:
        return None
    tree = build_tree([bytes.fromhex(row.leaf.removeprefix("0x")) for row in rows])
    for index, row in enumerate(rows):
        row.proof = json.dumps([_hex(p) for p in tree.proof(index)])
        session.add(row)
    batch = AnchorBatch(
        batch_no=batch_no, batch_id=_hex(batch_id_for(batch_no)), root=_hex(tree.root),
        leaf_count=len(rows), status=PREPARED, created_at=_now(),
    )
    session.add(batch)
    try:
        session.commit()
    except IntegrityError:
        # A concurrent attempt stored this batch number first: our claim is rolled back with it.
        session.rollback()
        return get_batch(session=session, batch_no=batch_no)
    session.refresh(batch)
    return batch


def _claim_pending(session: Session, batch_no: int, max_leaves: int) -> None:
    """Set ``batch_no`` on up to ``max_leaves`` of the oldest pending milestones (uncommitted)."""
    oldest_pending = (
        select(Milestone.id).where(col(Milestone.batch_no).is_(None)).order_by(col(Milestone.id)).limit(max_leaves)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows first and skip those a concurrent claim holds. (As an IN-subquery of the
        # UPDATE, a SKIP LOCKED select may run more than once and hand over more than the limit.)
        ids = list(session.exec(oldest_pending.with_for_update(skip_locked=True)))
        if not ids:
            return
        claim = update(Milestone).where(col(Milestone.batch_no).is_(None), col(Milestone.id).in_(ids))
    else:
        # SQLite has no row locks: one UPDATE takes the database's write lock before it reads,
        # so no other writer can slip in between choosing the rows and claiming them.
        claim = update(Milestone).where(col(Milestone.batch_no).is_(None),
                                        col(Milestone.id).in_(oldest_pending.scalar_subquery()))
    session.exec(claim.values(batch_no=batch_no))


def batch_leaves(*, session: Session, batch_no: int) -> list[Milestone]:
    """Return the milestones of batch ``batch_no`` in tree order.

    Args:
        session: Read-model session.
        batch_no: The batch number.

    Returns:
        The milestone rows.
    """
    return list(
        session.exec(select(Milestone).where(Milestone.batch_no == batch_no).order_by(col(Milestone.id)))
    )


def mark_anchored(
    *,
    session: Session,
    batch_no: int,
    tx_hash: str,
    block_number: int,
    block_hash: str,
    reanchored: bool = False,
) -> AnchorBatch:
    """Record where batch ``batch_no`` is anchored (again) and commit.

    Args:
        session: Read-model session.
        batch_no: The batch number.
        tx_hash: The anchoring transaction.
        block_number: Its block.
        block_hash: That block's hash (reconcile compares it with the chain).
        reanchored: This is a new transaction for a batch that vanished from the chain.

    Returns:
        The updated batch.

    Raises:
        LookupError: If the batch was never prepared.
    """
    batch = get_batch(session=session, batch_no=batch_no)
    if batch is None:
        raise LookupError(f"batch {batch_no} was never prepared")
    batch.status = ANCHORED
    batch.tx_hash = tx_hash
    batch.block_number = block_number
    batch.block_hash = block_hash
    batch.anchored_at = batch.anchored_at or _now()
    if reanchored:
        batch.reanchor_count += 1
    session.add(batch)
    session.commit()
    session.refresh(batch)
    return batch


def anchored_batches_newest_first(*, session: Session, limit: int) -> list[AnchorBatch]:
    """Return anchored batches by descending block number (the newest anchors first).

    Args:
        session: Read-model session.
        limit: Most rows.

    Returns:
        The batches.
    """
    return list(
        session.exec(
            select(AnchorBatch)
            .where(AnchorBatch.status == ANCHORED)
            .order_by(col(AnchorBatch.block_number).desc(), col(AnchorBatch.batch_no).desc())
            .limit(limit)
        )
    )


def leaf_with_batch(*, session: Session, leaf: str) -> tuple[Milestone, AnchorBatch | None] | None:
    """Return the milestone of ``leaf`` and its batch (``None`` if not batched yet).

    Args:
        session: Read-model session.
        leaf: The leaf, ``0x``-hex.

    Returns:
        ``(milestone, batch)``, or ``None`` if no milestone has that leaf.
    """
    milestone = session.exec(select(Milestone).where(Milestone.leaf == leaf.lower())).first()
    if milestone is None:
        return None
    if milestone.batch_no is None:
        return milestone, None
    return milestone, get_batch(session=session, batch_no=milestone.batch_no)


# ------------------------------------------------------------------ vouchers


def get_voucher(*, session: Session, claim_id: str) -> Voucher | None:
    """Return the voucher of ``claim_id``, if recorded.

    Args:
        session: Read-model session.
        claim_id: ``"<ticket id>:<breach kind>"``.

    Returns:
        The voucher row.
    """
    return session.get(Voucher, claim_id)


def record_voucher(
    *,
    session: Session,
    claim_id: str,
    ticket_id: str,
    breach: str,
    voucher_id: int,
    amount: int,
    currency: str,
    tx_hash: str,
    block_number: int,
    block_hash: str,
    claim_hash: str,
    customer_ref: str,
    expires_at: int,
    breach_leaf: str,
    root: str,
) -> Voucher:
    """Insert or update the voucher of ``claim_id`` as issued on chain, and commit.

    An update happens when a reorg made the chain issue the claim again (new transaction, maybe a
    new voucher id): the row follows the chain.

    Args:
        session: Read-model session.
        claim_id: The claim.
        ticket_id: Its ticket.
        breach: Breach kind (``first_response`` | ``resolution``).
        voucher_id: The on-chain voucher id.
        amount: Face value in minor units.
        currency: ISO currency code of the amount.
        tx_hash: The issuing transaction.
        block_number: Its block.
        block_hash: That block's hash.
        claim_hash: The on-chain claim id, ``0x``-hex.
        customer_ref: The on-chain customer reference, ``0x``-hex.
        expires_at: Unix expiry.
        breach_leaf: The evidence leaf.
        root: The anchored root it was proven against.

    Returns:
        The stored row.
    """
    row = get_voucher(session=session, claim_id=claim_id)
    if row is None:
        row = Voucher(claim_id=claim_id, ticket_id=ticket_id, breach=breach, voucher_id=voucher_id,
                      amount=amount, tx_hash=tx_hash, block_number=block_number, issued_at=_now())
    row.voucher_id = voucher_id
    row.amount = amount
    row.currency = currency or row.currency
    row.tx_hash = tx_hash
    row.block_number = block_number
    row.block_hash = block_hash
    row.claim_hash = claim_hash
    row.customer_ref = customer_ref
    row.expires_at = expires_at
    row.breach_leaf = breach_leaf
    row.root = root
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # A concurrent attempt inserted it: the chain gave both the same answer, keep theirs.
        session.rollback()
        existing = get_voucher(session=session, claim_id=claim_id)
        assert existing is not None
        return existing
    session.refresh(row)
    return row


def voucher_by_id(*, session: Session, voucher_id: int) -> Voucher | None:
    """Return the voucher with on-chain id ``voucher_id``.

    Args:
        session: Read-model session.
        voucher_id: The on-chain voucher id.

    Returns:
        The row, or ``None``.
    """
    return session.exec(select(Voucher).where(Voucher.voucher_id == voucher_id)).first()


def vouchers_of_ticket(*, session: Session, ticket_id: str) -> list[Voucher]:
    """Return a ticket's vouchers, oldest first.

    Args:
        session: Read-model session.
        ticket_id: The ticket.

    Returns:
        The rows.
    """
    return list(
        session.exec(select(Voucher).where(Voucher.ticket_id == ticket_id).order_by(col(Voucher.voucher_id)))
    )


def vouchers_newest_first(*, session: Session, limit: int) -> list[Voucher]:
    """Return vouchers by descending issue block (for reconciliation).

    Args:
        session: Read-model session.
        limit: Most rows.

    Returns:
        The rows.
    """
    return list(
        session.exec(
            select(Voucher).order_by(col(Voucher.block_number).desc(), col(Voucher.voucher_id).desc())
            .limit(limit)
        )
    )


def redeemed_vouchers_newest_first(*, session: Session, limit: int) -> list[Voucher]:
    """Return redeemed vouchers by descending redemption block (for reconciliation).

    Args:
        session: Read-model session.
        limit: Most rows.

    Returns:
        The rows.
    """
    return list(
        session.exec(
            select(Voucher).where(col(Voucher.redeemed).is_(True))
            .order_by(col(Voucher.redeem_block_number).desc()).limit(limit)
        )
    )


def mark_redeemed(
    *,
    session: Session,
    voucher: Voucher,
    tx_hash: str | None,
    block_number: int | None,
    block_hash: str | None,
    redeemed_by: str | None,
) -> Voucher:
    """Record a voucher's redemption and commit.

    Args:
        session: Read-model session.
        voucher: The row (from this session).
        tx_hash: The redeeming transaction, if known.
        block_number: Its block.
        block_hash: That block's hash.
        redeemed_by: Non-secret id of who asked (``"<role>#<n>"``), if known.

    Returns:
        The updated row.
    """
    voucher.redeemed = True
    voucher.redeem_tx_hash = tx_hash
    voucher.redeem_block_number = block_number
    voucher.redeem_block_hash = block_hash
    voucher.redeemed_by = redeemed_by or voucher.redeemed_by
    voucher.redeemed_at = voucher.redeemed_at or _now()
    session.add(voucher)
    session.commit()
    session.refresh(voucher)
    return voucher
