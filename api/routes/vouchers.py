"""Voucher endpoints: list a ticket's vouchers, and redeem one on chain exactly once."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict
from web3.exceptions import Web3Exception

from api.deps import RedeemerDep, SessionDep, SettingsDep, StaffReaderDep
from api.schemas import AUTH, NO_NUL, Problem, problems
from chain.context import ChainContext
from readmodel import vouchers
from services.vouchers import VoucherAlreadyRedeemed, VoucherNotFound, VoucherNotRedeemable, redeem_voucher

router = APIRouter(prefix="/vouchers", tags=["vouchers"])

_CHAINS: dict[tuple[str, str], ChainContext] = {}
_CHAINS_LOCK = threading.Lock()


def get_chain(settings: SettingsDep) -> ChainContext:
    """One chain context per RPC URL and deployment folder, made at first use.

    The API never deploys (``deploy=False``): it uses the deployment the worker recorded.
    """
    key = (settings.rpc_url, str(settings.var_dir))
    with _CHAINS_LOCK:
        chain = _CHAINS.get(key)
        if chain is None:
            chain = _CHAINS[key] = ChainContext(settings, deploy=False)
        return chain


ChainDep = Annotated[ChainContext, Depends(get_chain)]


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


@router.get("", response_model=list[VoucherPublic], responses=problems(*AUTH))
def list_vouchers(session: SessionDep, caller: StaffReaderDep,
                  ticket_id: Annotated[str, Query(min_length=1, max_length=64, pattern=NO_NUL)]) -> list[VoucherPublic]:
    """List a ticket's vouchers from the read model, oldest first."""
    rows = vouchers.vouchers_of_ticket(session=session, ticket_id=ticket_id)
    return [VoucherPublic.model_validate(r) for r in rows]


@router.post("/{voucher_id}/redeem", response_model=VoucherPublic,
             responses={**problems(*AUTH),
                        404: {"model": Problem, "description": "no such voucher"},
                        409: {"model": Problem, "description": "already redeemed, or expired"},
                        503: {"model": Problem,
                              "description": "chain unavailable, contract paused, or voucher not on chain yet"}})
def redeem(voucher_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, caller: RedeemerDep,
           chain: ChainDep) -> VoucherPublic:
    """Redeem a voucher on chain (once: a second call answers 409)."""
    try:
        row = redeem_voucher(session=session, chain=chain, voucher_id=voucher_id, redeemed_by=caller.key_id)
    except VoucherNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"voucher {voucher_id} not found") from exc
    except VoucherAlreadyRedeemed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except VoucherNotRedeemable as exc:
        code = status.HTTP_503_SERVICE_UNAVAILABLE if exc.temporary else status.HTTP_409_CONFLICT
        raise HTTPException(code, str(exc)) from exc
    except (Web3Exception, OSError, TimeoutError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"chain unavailable: {type(exc).__name__}") from exc
    return VoucherPublic.model_validate(row)
