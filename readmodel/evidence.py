"""Read-model reads and writes of the evidence pipeline: batches, proofs, the anchored record.

Ticket rows and milestone appends stay in :py:mod:`readmodel.crud`, vouchers in
:py:mod:`readmodel.vouchers`; this module owns what the anchoring activities write. Like crud, every writer is
idempotent, because activities are retried: a batch is keyed on its batch number, a voucher on its
claim id, and the chain stays the source of truth for what was anchored, issued and redeemed.

Batch layout (part of the evidence format, see docs/anchoring.md): the leaves of batch ``n`` are
the milestones with ``batch_no = n`` in ascending ``id`` order, which is the order they were
persisted in; the Merkle tree is :py:func:`domain.merkle.build_tree` of their tree leaves
(:py:func:`domain.milestones.tree_leaf` in the batch's ``format``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.encoding import from_hex, to_hex
from domain.evidence_types import batch_id_for
from domain.merkle import build_tree
from domain.milestones import CURRENT_BATCH_FORMAT, MilestoneKind, tree_leaf
from readmodel.models import AnchorBatch, Milestone, Voucher

__all__ = [
    "ANCHORED",
    "PREPARED",
    "anchored_batches_newest_first",
    "batch_leaves",
    "claim_batch",
    "get_batch",
    "leaf_with_batch",
    "mark_anchored",
    "next_batch_number",
    "pending_stats",
    "ticket_record",
    "anchored_leaves",
    "token_version",
    "TicketRecord",
]

PREPARED = "prepared"
ANCHORED = "anchored"
_CLAIM_ATTEMPTS = 20


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
        The batch, or ``None`` if it does not exist and nothing was pending.
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
            # Nothing left, but the claim that took the last rows may have been this very batch
            # number's (a retried attempt), committed after our first look.
            return get_batch(session=session, batch_no=batch_no)
        # Every pending row was held by a concurrent claim that may still roll back: look again.
        time.sleep(0.05)
    else:
        return get_batch(session=session, batch_no=batch_no)
    # New batches use the current format; a batch prepared earlier keeps its own (returned above).
    tree = build_tree([tree_leaf(from_hex(row.leaf), row.kind, CURRENT_BATCH_FORMAT) for row in rows])
    for index, row in enumerate(rows):
        row.proof = json.dumps([to_hex(p) for p in tree.proof(index)])
        session.add(row)
    batch = AnchorBatch(
        batch_no=batch_no, batch_id=to_hex(batch_id_for(batch_no)), root=to_hex(tree.root),
        leaf_count=len(rows), status=PREPARED, created_at=_now(), format=CURRENT_BATCH_FORMAT,
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


# ------------------------------------------------------------------ the anchored record


@dataclass
class TicketRecord:
    """Everything a ticket's certificate is made of: its milestones in order, their batches, its vouchers."""

    milestones: list[Milestone]
    batches: dict[int, AnchorBatch]
    vouchers: dict[int, Voucher]


def ticket_record(*, session: Session, ticket_id: str) -> TicketRecord:
    """Return a ticket's milestones (by sequence number), the batches they are in, and its vouchers by id."""
    milestones = list(session.exec(
        select(Milestone).where(Milestone.subject == ticket_id).order_by(col(Milestone.seq))).all())
    batch_nos = {m.batch_no for m in milestones if m.batch_no is not None}
    batches = {b.batch_no: b for b in session.exec(
        select(AnchorBatch).where(col(AnchorBatch.batch_no).in_(batch_nos)))} if batch_nos else {}
    vouchers = {v.voucher_id: v for v in session.exec(select(Voucher).where(Voucher.ticket_id == ticket_id))}
    return TicketRecord(milestones, batches, vouchers)


def token_version(*, session: Session, ticket_id: str) -> int:
    """Return the current customer-token version of a ticket as the read model knows it.

    The workflow starts at version 1 and bumps it with each ``token_revoked`` milestone, which the
    revoke update persists before it returns.
    """
    revoked = session.exec(
        select(Milestone.id).where(Milestone.subject == ticket_id, Milestone.kind == MilestoneKind.TOKEN_REVOKED)
    ).all()
    return 1 + len(revoked)


def batch_formats(*, session: Session) -> dict[int, int]:
    """Return the format of every batch (``domain.milestones.BATCH_FORMATS``), by batch number."""
    return {int(n): int(f) for n, f in session.exec(select(AnchorBatch.batch_no, AnchorBatch.format)).all()}


def anchored_leaves(*, session: Session) -> Iterator[Milestone]:
    """Yield every milestone of an anchored batch, by batch and in tree order (ascending row id)."""
    anchored = set(session.exec(select(AnchorBatch.batch_no).where(AnchorBatch.status == ANCHORED)).all())
    rows = session.exec(select(Milestone).where(col(Milestone.batch_no).is_not(None))
                        .order_by(col(Milestone.batch_no), col(Milestone.id)))
    for m in rows:
        if m.batch_no in anchored:
            yield m
