"""Answers of the voucher routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class VoucherPublic(BaseModel):
    """A voucher as issued on chain (amounts in minor units; no customer data)."""

    model_config = ConfigDict(from_attributes=True)

    voucher_id: int
    claim_id: str
    ticket_id: str
    breach: str
    amount: int
    currency: str
    expires_at: int
    tx_hash: str
    block_number: int
    breach_leaf: str
    root: str
    redeemed: bool
    redeem_tx_hash: str | None
    redeemed_at: datetime | None
