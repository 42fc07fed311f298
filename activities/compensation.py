"""Compensation activities: wait for a breach leaf's anchor, issue its voucher once, reconcile.

``issue_voucher`` is exactly once across retries, replays and worker kills because the chain is
asked first: the claim id is ``keccak256(utf8(claim_id))`` and the contract keeps at most one
voucher per claim id. A retry after a crash between the transaction and its record finds the
voucher with ``voucherOfClaim`` and only records it.

Redemption (``POST /vouchers/{id}/redeem``, and putting a lost redemption back) is
:py:mod:`services.vouchers`.
"""

from __future__ import annotations

import json
import logging
import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from chain.base import TxMark
from chain.context import ChainContext
from chain.faults import fault_point
from chain.reverts import ContractRevertError
from domain.encoding import bytes32, from_hex, to_hex
from domain.evidence_types import ReconcileInput, ReconcileResult, claim_hash, customer_ref_bytes
from domain.milestones import BATCH_FORMAT_V1
from domain.tickets import AnchoredLeaf, AnchorWait, VoucherRequest, VoucherResult
from observability.worker_metrics import record_voucher_issued
from readmodel import evidence, vouchers
from readmodel.db import session_scope
from readmodel.models import Voucher
from services.vouchers import redeem_on_chain
from temporal.heartbeat import heartbeat, heartbeating

__all__ = ["CompensationActivities"]

log = logging.getLogger("qualitrail.compensation")

# Reverts that no retry can fix: the request itself is wrong.
_PERMANENT = ("CompensationVoucherExpiryInPast", "CompensationVoucherZeroAmount",
              "CompensationVoucherZeroClaimId", "CompensationVoucherAmountAboveCap",
              "CompensationVoucherBreachAlreadyCompensated")


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
        self._record(request, receipt.voucher_id, receipt.mark,
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
            rows = {r.claim_id: r for r in vouchers.vouchers_newest_first(session=session,
                                                                         limit=request.max_batches)}
            rows.update({r.claim_id: r for r in vouchers.redeemed_vouchers_newest_first(
                session=session, limit=request.max_batches)})
        def issue_mark(r: Voucher) -> tuple[int, str]:
            return r.block_number, (r.block_hash or "").lower()

        def redeem_mark(r: Voucher) -> tuple[int, str]:
            return r.redeem_block_number or 0, (r.redeem_block_hash or "").lower()

        standing = self.chain.standing_marks([issue_mark(r) for r in rows.values()]
                                             + [redeem_mark(r) for r in rows.values() if r.redeemed])
        for row in sorted(rows.values(), key=lambda r: r.block_number):
            issue_stands = issue_mark(row) in standing
            if issue_stands and (not row.redeemed or redeem_mark(row) in standing):
                continue
            heartbeat(row.claim_id)
            result.checked += 1
            try:
                claim = bytes32(from_hex(row.claim_hash), "claim_hash")
            except ValueError as exc:
                # No retry mends a malformed row: report it and go on. Raising would retry this
                # activity forever, and the anchoring loop that runs it would stop anchoring.
                log.error("voucher row %s is unreadable: %s", row.claim_id, exc)
                result.problems.append(f"voucher row {row.claim_id} is unreadable: {exc}")
                continue
            self._reconcile_voucher(row, claim, issue_stands, result)
        return result

    def _reconcile_voucher(self, row: Voucher, claim: bytes, issue_stands: bool, result: ReconcileResult) -> None:
        on_chain = self.chain.issuer().voucher_of_claim(claim)
        if not on_chain:
            if row.expires_at <= int(time.time()):
                result.problems.append(f"voucher for {row.claim_id} vanished and has expired: not reissued")
                return
            log.warning("voucher for %s is gone from the chain: issuing it again", row.claim_id)
            try:
                on_chain = self._issue_voucher(_request_of(row)).voucher_id
            except ApplicationError as exc:
                result.problems.append(f"reissuing {row.claim_id}: {exc.message}")
                return
            result.reissued.append(row.claim_id)
        elif not issue_stands:
            self._record_existing(_request_of(row), on_chain)  # moved to another block: re-record
        if row.redeemed and not self.chain.voucher_reader().voucher(on_chain).redeemed:
            # Paid out already: put the chain's record of the redemption back. The redeemer key
            # may live only with the payout system (the API): then report instead of failing.
            if not self.chain.has_key("redeemer"):
                result.problems.append(f"voucher {on_chain} lost its redemption; no redeemer key here")
                return
            with session_scope(self.db_url) as session:
                fresh = vouchers.get_voucher(session=session, claim_id=row.claim_id)
                assert fresh is not None
                redeem_on_chain(session=session, chain=self.chain, voucher=fresh, redeemed_by=row.redeemed_by)
            result.reredeemed.append(on_chain)

    # ------------------------------------------------------------------ helpers

    def _evidence(self, leaf: str) -> tuple[bytes, list[bytes], bytes]:
        with session_scope(self.db_url) as session:
            found = evidence.leaf_with_batch(session=session, leaf=leaf)
            milestone, batch = found if found is not None else (None, None)
            if milestone is None or batch is None or batch.status != evidence.ANCHORED or milestone.proof is None:
                raise ApplicationError(f"breach leaf {leaf} is not anchored yet", type="NotAnchoredYet")
            if batch.format == BATCH_FORMAT_V1:
                # The voucher contract proves the kind from a format 2 tree leaf: waiting will not help.
                raise ApplicationError(f"breach leaf {leaf} is in batch {batch.batch_no} of format 1, which "
                                       "cannot back a voucher (docs/decisions/009)",
                                       type="EvidenceFormatTooOld", non_retryable=True)
            proof = [from_hex(p) for p in json.loads(milestone.proof or "[]")]
            return from_hex(milestone.leaf), proof, from_hex(batch.root)

    def _record_existing(self, request: VoucherRequest, voucher_id: int) -> VoucherResult:
        info = self.chain.voucher_reader().voucher(voucher_id)
        reader = self.chain.voucher_reader()
        tx = self.chain.confirmed(lambda: reader.last_event("VoucherIssued", {"claimId": info.claim_id},
                                                            self.chain.deployment().block_number),
                                  f"issue of voucher {voucher_id}", on_poll=heartbeat)
        if tx is None:
            raise ApplicationError(f"voucher {voucher_id} has no VoucherIssued event yet")
        self._record(request, voucher_id, tx, amount=info.amount, expires_at=info.expires_at,
                     customer_ref=info.customer_ref, leaf=info.breach_leaf, root=info.root)
        log.info("voucher %d for %s was already issued in tx %s: recorded", voucher_id, request.claim_id,
                 tx.tx_hash)
        return VoucherResult(voucher_id=voucher_id, tx_hash=tx.tx_hash, block_number=tx.block_number)

    def _record(self, request: VoucherRequest, voucher_id: int, tx: TxMark, *, amount: int, expires_at: int,
                customer_ref: bytes, leaf: bytes, root: bytes) -> None:
        with session_scope(self.db_url) as session:
            vouchers.record_voucher(
                session=session, claim_id=request.claim_id, ticket_id=request.ticket_id, breach=request.breach,
                voucher_id=voucher_id, amount=amount, currency=self.currency, tx_hash=tx.tx_hash,
                block_number=tx.block_number, block_hash=tx.block_hash, claim_hash=to_hex(claim_hash(request.claim_id)),
                customer_ref=to_hex(customer_ref), expires_at=expires_at, breach_leaf=to_hex(leaf), root=to_hex(root))


def _request_of(row: Voucher) -> VoucherRequest:
    return VoucherRequest(ticket_id=row.ticket_id, breach=row.breach, claim_id=row.claim_id,
                          customer_ref_hash=row.customer_ref, amount=row.amount, expires_at=row.expires_at,
                          leaf=row.breach_leaf)
