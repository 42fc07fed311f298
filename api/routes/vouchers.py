"""Voucher endpoints: list a ticket's vouchers, and redeem one on chain exactly once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from web3.exceptions import Web3Exception

from api.deps import ChainDep, RedeemerDep, SessionDep, StaffReaderDep
from api.schemas import AUTH, NO_NUL, Problem, problems
from api.schemas.vouchers import VoucherPublic
from readmodel import vouchers
from services.vouchers import VoucherAlreadyRedeemed, VoucherNotFound, VoucherNotRedeemable, redeem_voucher

router = APIRouter(prefix="/vouchers", tags=["vouchers"])






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
