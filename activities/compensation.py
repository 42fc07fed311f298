"""Compensation: wait for a breach leaf's anchor, issue its voucher once, redeem it once.

``issue_voucher`` is exactly once across retries, replays and worker kills because the chain is
asked first: the claim id is ``keccak256(utf8(claim_id))`` and the contract keeps at most one
voucher per claim id. A retry after a crash between the transaction and its record finds the
voucher with ``voucherOfClaim`` and only records it.

:py:func:`redeem_voucher` is the logic behind ``POST /vouchers/{id}/redeem``; the contract's
``redeem`` reverts on a second call, and the read model remembers who redeemed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.chain import (
    ChainContext,
    fault_point,
    heartbeat,
    heartbeating,
    standing_marks,
    wait_confirmed,
)
from activities.metrics import record_voucher_issued
from contracts.clients import ContractRevertError, VoucherInfo
from domain.evidence_types import ReconcileInput, ReconcileResult, claim_hash, customer_ref_bytes
from domain.tickets import AnchoredLeaf, AnchorWait, VoucherRequest, VoucherResult
from readmodel import evidence
from readmodel.db import session_scope
from readmodel.models import Voucher

__all__ = [
    "CompensationActivities",
    "VoucherAlreadyRedeemed",
    "VoucherNotFound",
    "VoucherNotRedeemable",
    "redeem_voucher",
]

log = logging.getLogger("qualitrail.compensation")

# Reverts that no retry can fix: the request itself is wrong.
_PERMANENT = ("CompensationVoucherExpiryInPast", "CompensationVoucherZeroAmount",
              "CompensationVoucherZeroClaimId")


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _b32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


@dataclass(frozen=True)
class _Tx:
    tx_hash: str
    block_number: int
    block_hash: str


def _find_event(chain: ChainContext, event_name: str, filters: dict[str, Any]) -> _Tx | None:
    """The newest confirmed log of ``event_name`` on the voucher contract matching ``filters``."""
    contract = chain.voucher_reader().contract
    for _ in range(3):
        logs = list(getattr(contract.events, event_name).get_logs(
            argument_filters=filters, from_block=chain.deployment().block_number, to_block="latest"))
        if not logs:
            return None
        last = max(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"])))
        found = _Tx(_hex(last["transactionHash"]), int(last["blockNumber"]), _hex(last["blockHash"]))
        if wait_confirmed(chain, found.block_number, found.block_hash):
            return found
    raise ApplicationError(f"{event_name} {filters} keeps moving between blocks")


class CompensationActivities:
    """Activities bound to one read model and one chain.

    Args:
        db_url: Read-model database URL.
        chain: The chain context (the issuer account signs).
        currency: Currency of voucher amounts (the policy file's), stored with each voucher.
        wait_seconds: How long one ``wait_for_anchor`` attempt polls before asking to be retried.
    """

    def __init__(self, db_url: str, chain: ChainContext, *, currency: str = "",
                 wait_seconds: float = 10.0) -> None:
        self.db_url = db_url
        self.chain = chain
        self.currency = currency
        self.wait_seconds = wait_seconds

    @activity.defn(name="wait_for_anchor")
    def wait_for_anchor(self, wait: AnchorWait) -> AnchoredLeaf:
        """Return the leaf's anchor (root, proof, tx) once its batch is anchored.

        Polls for up to ``wait_seconds`` (batches are cut within the anchoring time bound), then
        raises a retryable error so the workflow backs off and asks again.
        """
        deadline = time.monotonic() + self.wait_seconds
        while True:
            with session_scope(self.db_url) as session:
                found = evidence.leaf_with_batch(session=session, leaf=wait.leaf)
                if found is not None:
                    milestone, batch = found
                    if batch is not None and batch.status == evidence.ANCHORED and milestone.proof is not None:
                        return AnchoredLeaf(leaf=milestone.leaf, root=batch.root, proof=json.loads(milestone.proof),
                                            tx_hash=batch.tx_hash or "", block_number=batch.block_number or 0)
            if time.monotonic() >= deadline:
                where = "not in the read model" if found is None else "not anchored yet"
                raise ApplicationError(f"leaf {wait.leaf} is {where}", type="NotAnchoredYet")
            heartbeat()
            time.sleep(0.1)

    @activity.defn(name="issue_voucher")
    def issue_voucher(self, request: VoucherRequest) -> VoucherResult:
        """Issue the voucher of ``request.claim_id`` exactly once, and record it.

        Asks the contract first (``voucherOfClaim``): a voucher issued by an earlier attempt is
        read back and recorded, never issued twice.
        """
        with heartbeating():
            return self._issue_voucher(request)

    def _issue_voucher(self, request: VoucherRequest) -> VoucherResult:
        claim = claim_hash(request.claim_id)
        issuer = self.chain.issuer()
        existing = issuer.voucher_of_claim(claim)
        if existing:
            return self._record_existing(request, existing)
        leaf, proof, root = self._evidence(request.leaf)
        customer_ref = customer_ref_bytes(request.customer_ref_hash)
        try:
            receipt = issuer.issue(claim, customer_ref, request.amount, request.expires_at, leaf, proof, root)
        except ContractRevertError as exc:
            if exc.error_name == "CompensationVoucherClaimAlreadyIssued":
                # A concurrent attempt won: read its voucher back.
                return self._record_existing(request, issuer.voucher_of_claim(claim))
            if exc.error_name == "CompensationVoucherEvidenceNotAnchored":
                # The anchor vanished (reorg): reconcile_anchors puts it back; try again later.
                raise ApplicationError(f"breach leaf {request.leaf} is not anchored on chain (yet)",
                                       type="EvidenceNotAnchored") from exc
            raise ApplicationError(f"issuing voucher for {request.claim_id} reverted: {exc}",
                                   type=exc.error_name or "ContractRevert",
                                   non_retryable=exc.error_name in _PERMANENT) from exc
        fault_point("voucher_sent")
        log.info("voucher %d issued for %s in tx %s", receipt.voucher_id, request.claim_id, receipt.tx_hash)
        self._record(request, receipt.voucher_id, _Tx(receipt.tx_hash, receipt.block_number, receipt.block_hash),
                     amount=request.amount, expires_at=request.expires_at, customer_ref=customer_ref,
                     leaf=leaf, root=root)
        record_voucher_issued()
        return VoucherResult(voucher_id=receipt.voucher_id, tx_hash=receipt.tx_hash,
                             block_number=receipt.block_number)

    @activity.defn(name="reconcile_vouchers")
    def reconcile_vouchers(self, request: ReconcileInput) -> ReconcileResult:
        """Issue or redeem again what the read model recorded but the chain lost (a reorg).

        Run it after ``reconcile_anchors``, so lost evidence is back on chain first. The newest
        recorded issue or redemption block that still has its hash proves every earlier one;
        only vouchers issued or redeemed above it are looked up on chain.
        """
        with heartbeating():
            return self._reconcile_vouchers(request)

    def _reconcile_vouchers(self, request: ReconcileInput) -> ReconcileResult:
        result = ReconcileResult()
        with session_scope(self.db_url) as session:
            rows = {r.claim_id: r for r in evidence.vouchers_newest_first(session=session,
                                                                         limit=request.max_batches)}
            rows.update({r.claim_id: r for r in evidence.redeemed_vouchers_newest_first(
                session=session, limit=request.max_batches)})
        def issue_mark(r: Voucher) -> tuple[int, str]:
            return r.block_number, (r.block_hash or "").lower()

        def redeem_mark(r: Voucher) -> tuple[int, str]:
            return r.redeem_block_number or 0, (r.redeem_block_hash or "").lower()

        standing = standing_marks(self.chain, [issue_mark(r) for r in rows.values()]
                                  + [redeem_mark(r) for r in rows.values() if r.redeemed])
        issuer = self.chain.issuer()
        for row in sorted(rows.values(), key=lambda r: r.block_number):
            issue_stands = issue_mark(row) in standing
            if issue_stands and (not row.redeemed or redeem_mark(row) in standing):
                continue
            heartbeat(row.claim_id)
            result.checked += 1
            on_chain = issuer.voucher_of_claim(_b32(row.claim_hash))
            if not on_chain:
                if row.expires_at <= int(time.time()):
                    result.problems.append(f"voucher for {row.claim_id} vanished and has expired: not reissued")
                    continue
                log.warning("voucher for %s is gone from the chain: issuing it again", row.claim_id)
                try:
                    on_chain = self._issue_voucher(_request_of(row)).voucher_id
                except ApplicationError as exc:
                    result.problems.append(f"reissuing {row.claim_id}: {exc.message}")
                    continue
                result.reissued.append(row.claim_id)
            elif not issue_stands:
                self._record_existing(_request_of(row), on_chain)  # moved to another block: re-record
            if row.redeemed and not self.chain.voucher_reader().voucher(on_chain).redeemed:
                # Paid out already: put the chain's record of the redemption back. The redeemer key
                # may live only with the payout system (the API): then report instead of failing.
                if not self.chain.has_key("redeemer"):
                    result.problems.append(f"voucher {on_chain} lost its redemption; no redeemer key here")
                    continue
                with session_scope(self.db_url) as session:
                    fresh = evidence.get_voucher(session=session, claim_id=row.claim_id)
                    assert fresh is not None
                    redeem_on_chain(session=session, chain=self.chain, voucher=fresh,
                                    redeemed_by=row.redeemed_by)
                result.reredeemed.append(on_chain)
        return result

    # ------------------------------------------------------------------ helpers

    def _evidence(self, leaf: str) -> tuple[bytes, list[bytes], bytes]:
        with session_scope(self.db_url) as session:
            found = evidence.leaf_with_batch(session=session, leaf=leaf)
            milestone, batch = found if found is not None else (None, None)
            if milestone is None or batch is None or batch.status != evidence.ANCHORED or milestone.proof is None:
                raise ApplicationError(f"breach leaf {leaf} is not anchored yet", type="NotAnchoredYet")
            proof = [_b32(p) for p in json.loads(milestone.proof or "[]")]
            return _b32(milestone.leaf), proof, _b32(batch.root)

    def _record_existing(self, request: VoucherRequest, voucher_id: int) -> VoucherResult:
        info = self.chain.voucher_reader().voucher(voucher_id)
        tx = _find_event(self.chain, "VoucherIssued", {"claimId": info.claim_id})
        if tx is None:
            raise ApplicationError(f"voucher {voucher_id} has no VoucherIssued event yet")
        self._record(request, voucher_id, tx, amount=info.amount, expires_at=info.expires_at,
                     customer_ref=info.customer_ref, leaf=info.breach_leaf, root=info.root)
        log.info("voucher %d for %s was already issued in tx %s: recorded", voucher_id, request.claim_id,
                 tx.tx_hash)
        return VoucherResult(voucher_id=voucher_id, tx_hash=tx.tx_hash, block_number=tx.block_number)

    def _record(self, request: VoucherRequest, voucher_id: int, tx: _Tx, *, amount: int, expires_at: int,
                customer_ref: bytes, leaf: bytes, root: bytes) -> None:
        with session_scope(self.db_url) as session:
            evidence.record_voucher(
                session=session, claim_id=request.claim_id, ticket_id=request.ticket_id, breach=request.breach,
                voucher_id=voucher_id, amount=amount, currency=self.currency, tx_hash=tx.tx_hash,
                block_number=tx.block_number, block_hash=tx.block_hash, claim_hash=_hex(claim_hash(request.claim_id)),
                customer_ref=_hex(customer_ref), expires_at=expires_at, breach_leaf=_hex(leaf), root=_hex(root))


def _request_of(row: Voucher) -> VoucherRequest:
    return VoucherRequest(ticket_id=row.ticket_id, breach=row.breach, claim_id=row.claim_id,
                          customer_ref_hash=row.customer_ref, amount=row.amount, expires_at=row.expires_at,
                          leaf=row.breach_leaf)


# ---------------------------------------------------------------------- redemption (API)


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
    if voucher.claim_hash and _hex(info.claim_id) != voucher.claim_hash.lower():
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
    return evidence.mark_redeemed(session=session, voucher=voucher, tx_hash=receipt.tx_hash,
                                  block_number=receipt.block_number, block_hash=receipt.block_hash,
                                  redeemed_by=redeemed_by)


def _record_redemption_from_chain(session: Session, chain: ChainContext, voucher: Voucher,
                                  redeemed_by: str | None) -> None:
    tx = _find_event(chain, "VoucherRedeemed", {"voucherId": voucher.voucher_id})
    evidence.mark_redeemed(session=session, voucher=voucher, tx_hash=tx.tx_hash if tx else None,
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
    voucher = evidence.voucher_by_id(session=session, voucher_id=voucher_id)
    if voucher is None:
        raise VoucherNotFound(f"voucher {voucher_id} not found")
    if voucher.redeemed:
        raise VoucherAlreadyRedeemed(voucher_id, voucher.redeem_tx_hash)
    return redeem_on_chain(session=session, chain=chain, voucher=voucher, redeemed_by=redeemed_by)
