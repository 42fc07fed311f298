"""Read-model reads and writes of vouchers: issued (keyed on the claim id) and redeemed.

Every writer is idempotent, because activities are retried; the chain stays the source of truth for
what was issued and redeemed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from readmodel.models import Voucher

__all__ = [
    "get_voucher",
    "mark_redeemed",
    "record_voucher",
    "redeemed_vouchers_newest_first",
    "voucher_by_id",
    "vouchers_newest_first",
    "vouchers_of_ticket",
]


def _now() -> datetime:
    return datetime.now(UTC)


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
    """At most ``limit`` vouchers by descending issue block (for reconciliation)."""
    return list(
        session.exec(
            select(Voucher).order_by(col(Voucher.block_number).desc(), col(Voucher.voucher_id).desc())
            .limit(limit)
        )
    )


def redeemed_vouchers_newest_first(*, session: Session, limit: int) -> list[Voucher]:
    """At most ``limit`` redeemed vouchers by descending redemption block (for reconciliation)."""
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
