"""Redeeming a voucher exactly once: ``POST /vouchers/{id}/redeem`` and the voucher reconciliation.

The contract's ``redeem`` reverts on a second call; the read model remembers who redeemed. When the
chain already shows a redemption the read model missed, it is recorded from the chain's event.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlmodel import Session

from chain.context import ChainContext
from chain.reverts import ContractRevertError
from chain.voucher import VoucherInfo
from domain.encoding import to_hex
from readmodel import vouchers
from readmodel.models import Voucher

__all__ = [
    "VoucherAlreadyRedeemed",
    "VoucherNotFound",
    "VoucherNotRedeemable",
    "redeem_on_chain",
    "redeem_voucher",
]

log = logging.getLogger("qualitrail.compensation")


class VoucherNotFound(LookupError):
    """No voucher with that id is recorded."""


class VoucherAlreadyRedeemed(Exception):
    """The voucher was redeemed before (``tx_hash`` of that redemption, if known)."""

    def __init__(self, voucher_id: int, tx_hash: str | None) -> None:
        self.voucher_id = voucher_id
        self.tx_hash = tx_hash
        where = f" in transaction {tx_hash}" if tx_hash else ""
        super().__init__(f"voucher {voucher_id} was already redeemed{where}")


class VoucherNotRedeemable(Exception):
    """The voucher exists but cannot be redeemed now (expired, paused, not on chain)."""

    def __init__(self, voucher_id: int, reason: str, *, temporary: bool = False) -> None:
        self.voucher_id = voucher_id
        self.reason = reason
        self.temporary = temporary
        super().__init__(f"voucher {voucher_id} cannot be redeemed: {reason}")


def redeem_on_chain(*, session: Session, chain: ChainContext, voucher: Voucher,
                    redeemed_by: str | None) -> Voucher:
    """Send ``redeem`` for a recorded voucher and record the redemption (no read-model checks).

    Args:
        session: Read-model session that loaded ``voucher``.
        chain: The chain (the redeemer account signs).
        voucher: The voucher row.
        redeemed_by: Non-secret id of who asked.

    Returns:
        The updated row.

    Raises:
        VoucherAlreadyRedeemed: The chain says it was redeemed (the redemption is recorded).
        VoucherNotRedeemable: Expired, paused, or the chain does not have this voucher.
    """
    client = chain.redeemer()
    voucher_id = voucher.voucher_id
    try:
        info: VoucherInfo = client.voucher(voucher_id)
    except LookupError as exc:
        raise VoucherNotRedeemable(voucher_id, "not on chain (a reorg?); retry after reconciliation",
                                   temporary=True) from exc
    if voucher.claim_hash and to_hex(info.claim_id) != voucher.claim_hash.lower():
        raise VoucherNotRedeemable(voucher_id, "the chain's voucher with this id settles another claim "
                                   "(a reorg?); retry after reconciliation", temporary=True)
    if info.redeemed:
        _record_redemption_from_chain(session, chain, voucher, redeemed_by)
        raise VoucherAlreadyRedeemed(voucher_id, voucher.redeem_tx_hash)
    try:
        receipt = client.redeem(voucher_id)
    except ContractRevertError as exc:
        if exc.error_name == "CompensationVoucherAlreadyRedeemed":
            _record_redemption_from_chain(session, chain, voucher, redeemed_by)
            raise VoucherAlreadyRedeemed(voucher_id, voucher.redeem_tx_hash) from exc
        if exc.error_name == "CompensationVoucherExpired":
            expired = datetime.fromtimestamp(info.expires_at, UTC).isoformat()
            raise VoucherNotRedeemable(voucher_id, f"expired at {expired}") from exc
        if exc.error_name == "PausableEnforcedPause":
            raise VoucherNotRedeemable(voucher_id, "the voucher contract is paused", temporary=True) from exc
        raise
    log.info("voucher %d redeemed in tx %s", voucher_id, receipt.tx_hash)
    return vouchers.mark_redeemed(session=session, voucher=voucher, tx_hash=receipt.tx_hash,
                                  block_number=receipt.block_number, block_hash=receipt.block_hash,
                                  redeemed_by=redeemed_by)


def _record_redemption_from_chain(session: Session, chain: ChainContext, voucher: Voucher,
                                  redeemed_by: str | None) -> None:
    reader = chain.voucher_reader()
    tx = chain.confirmed(lambda: reader.last_event("VoucherRedeemed", {"voucherId": voucher.voucher_id},
                                                   chain.deployment().block_number),
                         f"redemption of voucher {voucher.voucher_id}")
    vouchers.mark_redeemed(session=session, voucher=voucher, tx_hash=tx.tx_hash if tx else None,
                           block_number=tx.block_number if tx else None,
                           block_hash=tx.block_hash if tx else None,
                           redeemed_by=voucher.redeemed_by or redeemed_by)


def redeem_voucher(*, session: Session, chain: ChainContext, voucher_id: int, redeemed_by: str) -> Voucher:
    """Redeem voucher ``voucher_id`` on chain exactly once and record it.

    Args:
        session: Read-model session.
        chain: The chain (the redeemer account signs).
        voucher_id: The on-chain voucher id.
        redeemed_by: Non-secret id of the caller (``"<role>#<n>"``), stored with the redemption.

    Returns:
        The redeemed voucher's row.

    Raises:
        VoucherNotFound: No such voucher in the read model.
        VoucherAlreadyRedeemed: Redeemed before (by this or an earlier call, or directly on chain).
        VoucherNotRedeemable: Expired, paused, or not (yet) on the chain that stands.
    """
    voucher = vouchers.voucher_by_id(session=session, voucher_id=voucher_id)
    if voucher is None:
        raise VoucherNotFound(f"voucher {voucher_id} not found")
    if voucher.redeemed:
        raise VoucherAlreadyRedeemed(voucher_id, voucher.redeem_tx_hash)
    return redeem_on_chain(session=session, chain=chain, voucher=voucher, redeemed_by=redeemed_by)
