"""Client of the ``CompensationVoucher`` contract: issue against anchored evidence, redeem, read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import HexStr
from web3.logs import DISCARD

from chain.base import ContractClient, TxMark
from chain.reverts import ContractRevertError
from domain.encoding import bytes32

__all__ = ["VoucherClient", "VoucherInfo", "VoucherReceipt"]


@dataclass(frozen=True)
class VoucherInfo:
    """A voucher as the contract stores it.

    Attributes:
        voucher_id: The voucher's id (from 1).
        claim_id: The claim it settles.
        customer_ref: Salted hash of the customer's account.
        amount: Face value, in the smallest currency unit.
        expires_at: Unix time from which it can no longer be redeemed.
        redeemed: Whether it was redeemed.
        breach_leaf: The SLA-breach evidence leaf.
        root: The anchored root the leaf was proven against.
    """

    voucher_id: int
    claim_id: bytes
    customer_ref: bytes
    amount: int
    expires_at: int
    redeemed: bool
    breach_leaf: bytes
    root: bytes

    @classmethod
    def from_fields(cls, voucher_id: int, fields: Sequence[Any]) -> VoucherInfo:
        """The voucher from ``voucherOf``'s return values, in the contract's order."""
        claim_id, customer_ref, amount, expires_at, redeemed, breach_leaf, root = fields
        return cls(voucher_id=voucher_id, claim_id=bytes(claim_id), customer_ref=bytes(customer_ref),
                   amount=int(amount), expires_at=int(expires_at), redeemed=bool(redeemed),
                   breach_leaf=bytes(breach_leaf), root=bytes(root))


@dataclass(frozen=True)
class VoucherReceipt:
    """A mined issuing or redeeming transaction.

    Attributes:
        voucher_id: The voucher issued or redeemed.
        mark: Where the transaction was mined.
    """

    voucher_id: int
    mark: TxMark

    @property
    def tx_hash(self) -> HexStr:
        return self.mark.tx_hash

    @property
    def block_number(self) -> int:
        return self.mark.block_number

    @property
    def block_hash(self) -> HexStr:
        return self.mark.block_hash


class VoucherClient(ContractClient):
    """Client of a ``CompensationVoucher``.

    Args:
        w3: Connected Web3 instance.
        address: The voucher contract's address.
        account: The signing account (``ISSUER_ROLE`` to issue, ``REDEEMER_ROLE`` to redeem);
            ``None`` for read-only.
        sender: A shared sender for ``account``; one is made when ``None``.
        confirmations: Blocks to wait after a transaction's block (when making the sender).
        receipt_timeout: Seconds to wait for a receipt (when making the sender).
    """

    artifact_name = "CompensationVoucher"

    def voucher_of_claim(self, claim_id: bytes) -> int:
        """Return the voucher issued for ``claim_id``.

        Args:
            claim_id: The 32-byte claim id.

        Returns:
            The voucher id, or 0 if none was issued.
        """
        return int(self._call(self.contract.functions.voucherOfClaim(bytes32(claim_id, "claim_id"))))

    def voucher_of_breach(self, breach_leaf: bytes) -> int:
        """Return the voucher ``breach_leaf`` backs (contracts since batch format 2).

        Args:
            breach_leaf: The 32-byte milestone leaf of the breach.

        Returns:
            The voucher id, or 0 if none was issued against it.
        """
        return int(self._call(self.contract.functions.voucherOfBreach(bytes32(breach_leaf, "breach_leaf"))))

    def max_amount(self) -> int:
        """Return the most a voucher may be worth (minor units)."""
        return int(self._call(self.contract.functions.maxAmount()))

    def set_max_amount(self, max_amount: int) -> TxMark:
        """Set the most a voucher may be worth (needs ``DEFAULT_ADMIN_ROLE``).

        Args:
            max_amount: The cap, in minor units.

        Returns:
            Where the transaction was mined.
        """
        return TxMark.of(self._send(self.contract.functions.setMaxAmount(max_amount)))

    def voucher(self, voucher_id: int) -> VoucherInfo:
        """Return voucher ``voucher_id``.

        Args:
            voucher_id: The voucher id.

        Returns:
            The voucher.

        Raises:
            LookupError: If there is no such voucher.
        """
        try:
            fields = self._call(self.contract.functions.voucherOf(voucher_id))
        except ContractRevertError as exc:
            if exc.error_name == "CompensationVoucherUnknownVoucher":
                raise LookupError(f"no voucher {voucher_id}") from exc
            raise
        return VoucherInfo.from_fields(voucher_id, fields)

    def issue(
        self,
        claim_id: bytes,
        customer_ref: bytes,
        amount: int,
        expires_at: int,
        breach_leaf: bytes,
        proof: Sequence[bytes],
        root: bytes,
    ) -> VoucherReceipt:
        """Issue a voucher for ``claim_id`` backed by the anchored breach leaf.

        Check :py:meth:`voucher_of_claim` first when retrying: a claim can be issued once.

        Args:
            claim_id: The 32-byte claim id (one per ticket and breach kind).
            customer_ref: Salted 32-byte hash of the customer's account.
            amount: Face value (> 0).
            expires_at: Unix time from which it can no longer be redeemed (in the future).
            breach_leaf: The SLA-breach milestone leaf (the contract derives its tree leaf).
            proof: The Merkle proof of its format 2 tree leaf.
            root: The anchored root.

        Returns:
            The new voucher's id and the mined transaction.

        Raises:
            ContractRevertError: E.g. ``CompensationVoucherClaimAlreadyIssued``,
                ``CompensationVoucherBreachAlreadyCompensated``, ``CompensationVoucherAmountAboveCap``,
                ``CompensationVoucherEvidenceNotAnchored``, ``AccessControlUnauthorizedAccount``.
        """
        receipt = self._send(
            self.contract.functions.issue(
                bytes32(claim_id, "claim_id"),
                bytes32(customer_ref, "customer_ref"),
                amount,
                expires_at,
                bytes32(breach_leaf, "breach_leaf"),
                [bytes32(p, "proof element") for p in proof],
                bytes32(root, "root"),
            )
        )
        issued = self.contract.events.VoucherIssued().process_receipt(receipt, errors=DISCARD)
        if len(issued) != 1:
            raise RuntimeError(f"expected one VoucherIssued event, got {len(issued)}")
        return VoucherReceipt(voucher_id=int(issued[0]["args"]["voucherId"]), mark=TxMark.of(receipt))

    def redeem(self, voucher_id: int) -> VoucherReceipt:
        """Redeem voucher ``voucher_id``.

        Args:
            voucher_id: The voucher id.

        Returns:
            The mined transaction.

        Raises:
            ContractRevertError: E.g. ``CompensationVoucherAlreadyRedeemed``,
                ``CompensationVoucherExpired``, ``CompensationVoucherUnknownVoucher``.
        """
        receipt = self._send(self.contract.functions.redeem(voucher_id))
        return VoucherReceipt(voucher_id=voucher_id, mark=TxMark.of(receipt))

