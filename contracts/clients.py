"""Thin typed clients for the EvidenceRegistry and CompensationVoucher contracts.

Only Temporal activities use these (all chain I/O happens in activities). Every transaction goes
through a :py:class:`TransactionSender`, which:

- serialises the sends of one account inside this process with a lock shared by every sender of
  that account;
- reads the nonce from the chain (``"pending"``) for each send and never caches it: after a chain
  reorganisation, or an Anvil restored from an older state dump, a cached nonce would be ahead of
  the chain and every later transaction would hang;
- re-reads the nonce and retries (a bounded number of times) when the node answers "nonce too low"
  or that another transaction already holds the nonce;
- waits for the receipt with a timeout and, optionally, for confirmations;
- raises :py:class:`ContractRevertError` with the decoded custom error name when a transaction
  would revert (gas estimation) or did revert (status 0).

The clients stay thin on purpose: idempotency ("anchor this batch exactly once") belongs to the
callers, which read the chain first (:py:meth:`EvidenceRegistryClient.batch_root`,
:py:meth:`VoucherClient.voucher_of_claim`) and treat ``...AlreadyAnchored`` /
``...ClaimAlreadyIssued`` reverts as "done by an earlier attempt".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import requests
from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.logs import DISCARD
from web3.types import RPCEndpoint, TxParams, TxReceipt

from contracts.compile import load_artifact
from contracts.keys import check_key_allowed

__all__ = [
    "AnchorInfo",
    "AnchorReceipt",
    "ContractRevertError",
    "EvidenceRegistryClient",
    "IssueReceipt",
    "RedeemReceipt",
    "RootAnchoredEvent",
    "TransactionSendError",
    "TransactionSender",
    "VoucherClient",
    "VoucherInfo",
    "decode_revert",
    "rpc_batch",
]

_ZERO32 = b"\x00" * 32

# Node answers meaning "the nonce we used is taken": re-read it from the chain and try again.
# Geth/Anvil/Reth/Erigon spell them slightly differently; matching is case-insensitive.
_RETRY_NONCE_MESSAGES = (
    "nonce too low",
    "replacement transaction underpriced",
    "replacement fee too low",
    "transaction underpriced",
    "nonce has already been used",
)
# Node answers meaning "this exact signed transaction is already in the pool": it was sent.
_ALREADY_SENT_MESSAGES = ("already known", "already imported", "alreadyknown")


class ContractRevertError(Exception):
    """A contract call reverted.

    Attributes:
        error_name: The decoded custom error, e.g. ``"EvidenceRegistryRootAlreadyAnchored"``;
            ``"Error"`` for a revert string, ``"Panic"`` for a panic, ``None`` if unknown.
        error_args: The error's decoded arguments.
        tx_hash: The reverted transaction, or ``None`` if it was refused before sending.
        data: The raw revert data as hex, if the node returned it.
    """

    def __init__(
        self,
        error_name: str | None,
        error_args: tuple[Any, ...] = (),
        *,
        tx_hash: HexStr | None = None,
        data: str | None = None,
    ) -> None:
        self.error_name = error_name
        self.error_args = error_args
        self.tx_hash = tx_hash
        self.data = data
        where = f" in transaction {tx_hash}" if tx_hash else ""
        super().__init__(f"reverted with {error_name or 'an unknown error'}{where}: {error_args!r}")


class TransactionSendError(Exception):
    """The node kept refusing a transaction after the bounded retries."""


def _error_selectors(abi: Sequence[dict[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {
        keccak(text="Error(string)")[:4]: ("Error", ["string"]),
        keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"]),
    }
    for entry in abi:
        if entry.get("type") == "error":
            types = [str(arg["type"]) for arg in entry.get("inputs", [])]
            signature = f"{entry['name']}({','.join(types)})"
            table[keccak(text=signature)[:4]] = (str(entry["name"]), types)
    return table


def decode_revert(
    abi: Sequence[dict[str, Any]], data: str | bytes | None
) -> tuple[str | None, tuple[Any, ...]]:
    """Decode revert data against the custom errors of ``abi``.

    Args:
        abi: A contract ABI (its ``"error"`` entries are used).
        data: Revert data, as hex or bytes.

    Returns:
        ``(error name, arguments)``; ``(None, ())`` if the data matches no known error.
    """
    if data is None:
        return None, ()
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    if len(raw) < 4:
        return None, ()
    known = _error_selectors(abi).get(raw[:4])
    if known is None:
        return None, ()
    name, types = known
    try:
        return name, tuple(abi_decode(types, raw[4:]))
    except Exception:  # malformed data from the node: report the name alone
        return name, ()


def _revert_from(
    exc: ContractLogicError, abi: Sequence[dict[str, Any]], tx_hash: HexStr | None
) -> ContractRevertError:
    data = exc.data if isinstance(exc.data, str) else None
    name, args = decode_revert(abi, data)
    if name is None and exc.message:
        args = (exc.message,)  # not one of our errors: keep the node's message for the log
    return ContractRevertError(name, args, tx_hash=tx_hash, data=data)


class _Buildable(Protocol):
    """A contract function call or constructor that can build a transaction."""

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams: ...


_ACCOUNT_LOCKS: dict[str, threading.Lock] = {}
_ACCOUNT_LOCKS_GUARD = threading.Lock()


def _account_lock(address: str) -> threading.Lock:
    # One lock per account, shared by every sender of that account in this process, so two
    # clients of the same key never read the same "pending" nonce.
    with _ACCOUNT_LOCKS_GUARD:
        return _ACCOUNT_LOCKS.setdefault(address.lower(), threading.Lock())


class TransactionSender:
    """Signs and sends one account's transactions, with nonces read from the chain.

    Args:
        w3: Connected Web3 instance.
        account: The signing account. A well-known Anvil key is refused on chains other than
            31337 (checked at the first send).
        receipt_timeout: Seconds to wait for a receipt (and then for confirmations).
        confirmations: Blocks that must follow the receipt's block before a send returns. Keep 0
            on an automining Anvil, which mines no block without a transaction.
        max_attempts: How many times a refused send is retried with a fresh nonce.
        poll_interval: Seconds between receipt and block polls.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        receipt_timeout: float = 120.0,
        confirmations: int = 0,
        max_attempts: int = 5,
        poll_interval: float = 0.1,
    ) -> None:
        if confirmations < 0:
            raise ValueError("confirmations must be >= 0")
        self.w3 = w3
        self.account = account
        self.receipt_timeout = receipt_timeout
        self.confirmations = confirmations
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self._lock = _account_lock(account.address)
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        """The sending account's checksum address."""
        return str(self.account.address)

    def chain_id(self) -> int:
        """Return the chain id, read once, after checking the key may sign on that chain.

        Returns:
            The chain id.

        Raises:
            ValueError: If a well-known Anvil key would sign on another chain.
        """
        if self._chain_id is None:
            chain_id = int(self.w3.eth.chain_id)
            check_key_allowed(chain_id, self.account.key.hex())
            self._chain_id = chain_id
        return self._chain_id

    def send(self, call: _Buildable, *, abi: Sequence[dict[str, Any]], gas: int | None = None) -> TxReceipt:
        """Sign, send, and wait for ``call`` to be mined (and confirmed).

        Args:
            call: A bound contract function call (``contract.functions.f(...)``) or constructor.
            abi: ABI used to decode custom errors.
            gas: Gas limit; estimated by the node when ``None`` (which also surfaces reverts
                before anything is sent).

        Returns:
            The receipt, with status 1.

        Raises:
            ContractRevertError: If the call would revert or reverted.
            TransactionSendError: If the node kept refusing the transaction.
            web3.exceptions.TimeExhausted: If no receipt or confirmations came in time.
        """
        chain_id = self.chain_id()
        with self._lock:
            tx_hash = self._sign_and_send(call, abi, chain_id, gas)
        receipt = self._wait_for_receipt(tx_hash, time.monotonic() + self.receipt_timeout)
        if receipt["status"] != 1:
            raise self._explain_failure(tx_hash, receipt, abi)
        return self._wait_for_confirmations(tx_hash, receipt, abi)

    def _sign_and_send(
        self, call: _Buildable, abi: Sequence[dict[str, Any]], chain_id: int, gas: int | None
    ) -> HexStr:
        last_error: Exception | None = None
        for attempt in range(self.max_attempts):
            # Always from the chain: a cached counter would be ahead after a reorg or an Anvil
            # restored from an older state.
            nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
            params: TxParams = {"from": self.account.address, "nonce": nonce, "chainId": chain_id}
            if gas is not None:
                params["gas"] = gas
            try:
                tx = call.build_transaction(params)
            except ContractLogicError as exc:
                raise _revert_from(exc, abi, None) from exc
            signed = self.account.sign_transaction(cast(dict[str, Any], tx))
            tx_hash = HexStr("0x" + bytes(signed.hash).hex())
            try:
                self.w3.eth.send_raw_transaction(signed.raw_transaction)
                return tx_hash
            except Web3RPCError as exc:
                message = str(exc.message).lower()
                if any(m in message for m in _ALREADY_SENT_MESSAGES):
                    return tx_hash
                if not any(m in message for m in _RETRY_NONCE_MESSAGES):
                    raise
                last_error = exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                # The node may have received it before the connection failed: look before resending.
                if self._is_known(tx_hash):
                    return tx_hash
                last_error = exc
            time.sleep(min(self.poll_interval * (2**attempt), 2.0))
        raise TransactionSendError(f"node refused the transaction {self.max_attempts} times: {last_error}")

    def _is_known(self, tx_hash: HexStr) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except (TransactionNotFound, requests.RequestException):
            return False

    def _wait_for_receipt(self, tx_hash: HexStr, deadline: float) -> TxReceipt:
        remaining = max(deadline - time.monotonic(), self.poll_interval)
        return self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=remaining, poll_latency=self.poll_interval
        )

    def _explain_failure(
        self, tx_hash: HexStr, receipt: TxReceipt, abi: Sequence[dict[str, Any]]
    ) -> ContractRevertError:
        # Receipts carry no revert data: replay the call on the state of its block to get it.
        tx = self.w3.eth.get_transaction(tx_hash)
        replay: TxParams = {"from": tx["from"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        if tx.get("to") is not None:  # absent for a contract creation
            replay["to"] = tx["to"]
        try:
            self.w3.eth.call(replay, block_identifier=receipt["blockNumber"])
        except ContractLogicError as exc:
            return _revert_from(exc, abi, tx_hash)
        return ContractRevertError(None, (), tx_hash=tx_hash)

    def _wait_for_confirmations(
        self, tx_hash: HexStr, receipt: TxReceipt, abi: Sequence[dict[str, Any]]
    ) -> TxReceipt:
        if self.confirmations == 0:
            return receipt
        deadline = time.monotonic() + self.receipt_timeout
        while time.monotonic() < deadline:
            if self.w3.eth.block_number - receipt["blockNumber"] >= self.confirmations:
                # Still in the same block? A reorganisation may have dropped or moved it.
                try:
                    current = self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    current = None
                if current is not None and current["blockHash"] == receipt["blockHash"]:
                    return current
                # Re-included elsewhere (or not yet): wait again, and re-check its outcome there.
                receipt = self._wait_for_receipt(tx_hash, deadline)
                if receipt["status"] != 1:
                    raise self._explain_failure(tx_hash, receipt, abi)
                continue
            time.sleep(self.poll_interval)
        raise TimeExhausted(f"transaction {tx_hash} did not get {self.confirmations} confirmations in time")


def _b32(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return bytes(value)


def _hex(value: bytes) -> HexStr:
    return HexStr("0x" + bytes(value).hex())


@dataclass(frozen=True)
class AnchorInfo:
    """How a root was anchored.

    Attributes:
        block_time: Timestamp of the anchoring block.
        block_number: Number of the anchoring block.
        leaf_count: Leaves in the batch.
        batch_id: The batch's 32-byte id.
    """

    block_time: int
    block_number: int
    leaf_count: int
    batch_id: bytes


@dataclass(frozen=True)
class AnchorReceipt:
    """The mined anchoring transaction.

    Attributes:
        tx_hash: Transaction hash, ``0x``-prefixed hex.
        block_number: Block that includes it.
        block_hash: That block's hash, ``0x``-prefixed hex (to notice reorganisations).
    """

    tx_hash: HexStr
    block_number: int
    block_hash: HexStr


@dataclass(frozen=True)
class RootAnchoredEvent:
    """One ``RootAnchored`` event.

    Attributes:
        root: The anchored Merkle root.
        batch_id: The batch's id.
        leaf_count: Leaves in the batch.
        block_time: Timestamp of the anchoring block.
        block_number: Number of the anchoring block.
        block_hash: Its hash, ``0x``-prefixed hex.
        tx_hash: The anchoring transaction, ``0x``-prefixed hex.
        log_index: Position of the log in the block.
    """

    root: bytes
    batch_id: bytes
    leaf_count: int
    block_time: int
    block_number: int
    block_hash: HexStr
    tx_hash: HexStr
    log_index: int


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


@dataclass(frozen=True)
class IssueReceipt:
    """The mined issuing transaction.

    Attributes:
        voucher_id: The new voucher's id.
        tx_hash: Transaction hash, ``0x``-prefixed hex.
        block_number: Block that includes it.
        block_hash: That block's hash, ``0x``-prefixed hex.
    """

    voucher_id: int
    tx_hash: HexStr
    block_number: int
    block_hash: HexStr


@dataclass(frozen=True)
class RedeemReceipt:
    """The mined redeeming transaction.

    Attributes:
        voucher_id: The redeemed voucher.
        tx_hash: Transaction hash, ``0x``-prefixed hex.
        block_number: Block that includes it.
        block_hash: That block's hash, ``0x``-prefixed hex.
    """

    voucher_id: int
    tx_hash: HexStr
    block_number: int
    block_hash: HexStr


class _Client:
    artifact_name = ""

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        sender: TransactionSender | None = None,
        confirmations: int = 0,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.w3 = w3
        self.abi: list[dict[str, Any]] = load_artifact(self.artifact_name)["abi"]
        self.contract: Contract = w3.eth.contract(address=Web3.to_checksum_address(address), abi=self.abi)
        if sender is None and account is not None:
            sender = TransactionSender(
                w3, account, confirmations=confirmations, receipt_timeout=receipt_timeout
            )
        self._sender = sender

    @property
    def address(self) -> str:
        """The contract's checksum address."""
        return str(self.contract.address)

    def _send(self, call: _Buildable) -> TxReceipt:
        if self._sender is None:
            raise RuntimeError(f"{type(self).__name__} was created without an account: read-only")
        return self._sender.send(call, abi=self.abi)

    def _call(self, fn: Any) -> Any:
        try:
            return fn.call()
        except ContractLogicError as exc:
            raise _revert_from(exc, self.abi, None) from exc


class EvidenceRegistryClient(_Client):
    """Client of an ``EvidenceRegistry``.

    Args:
        w3: Connected Web3 instance.
        address: The registry's address.
        account: The signing account (holding ``ANCHOR_ROLE`` to anchor); ``None`` for read-only.
        sender: A shared sender for ``account``; one is made when ``None``.
        confirmations: Blocks to wait after a transaction's block (when making the sender).
        receipt_timeout: Seconds to wait for a receipt (when making the sender).
    """

    artifact_name = "EvidenceRegistry"

    def batch_root(self, batch_id: bytes) -> bytes | None:
        """Return the root anchored for ``batch_id``.

        Args:
            batch_id: The 32-byte batch id.

        Returns:
            The root, or ``None`` if the batch was never anchored.
        """
        root = bytes(self._call(self.contract.functions.rootOfBatch(_b32(batch_id, "batch_id"))))
        return None if root == _ZERO32 else root

    def anchor_info(self, root: bytes) -> AnchorInfo | None:
        """Return how ``root`` was anchored.

        Args:
            root: The 32-byte Merkle root.

        Returns:
            The anchor, or ``None`` if ``root`` is not anchored.
        """
        block_time, block_number, leaf_count, batch_id = self._call(
            self.contract.functions.anchorOf(_b32(root, "root"))
        )
        if leaf_count == 0:
            return None
        return AnchorInfo(int(block_time), int(block_number), int(leaf_count), bytes(batch_id))

    def anchor(self, root: bytes, leaf_count: int, batch_id: bytes) -> AnchorReceipt:
        """Anchor ``root`` as batch ``batch_id`` and wait for the receipt.

        Check :py:meth:`batch_root` first when retrying: anchoring a root or batch twice reverts.

        Args:
            root: The 32-byte Merkle root.
            leaf_count: Leaves in the batch (> 0).
            batch_id: The 32-byte batch id.

        Returns:
            The mined transaction.

        Raises:
            ContractRevertError: E.g. ``EvidenceRegistryRootAlreadyAnchored``,
                ``EvidenceRegistryBatchAlreadyAnchored``, ``AccessControlUnauthorizedAccount``,
                ``PausableEnforcedPause``.
        """
        receipt = self._send(
            self.contract.functions.anchor(_b32(root, "root"), leaf_count, _b32(batch_id, "batch_id"))
        )
        return AnchorReceipt(
            _hex(receipt["transactionHash"]), int(receipt["blockNumber"]), _hex(receipt["blockHash"])
        )

    def verify_leaf(self, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
        """Ask the registry whether ``proof`` proves ``leaf`` under the anchored ``root``.

        Args:
            leaf: The 32-byte leaf.
            proof: Sibling hashes from the bottom up.
            root: The 32-byte root.

        Returns:
            ``True`` only if ``root`` is anchored and the proof checks.
        """
        checked = [_b32(p, "proof element") for p in proof]
        return bool(
            self._call(self.contract.functions.verifyLeaf(_b32(leaf, "leaf"), checked, _b32(root, "root")))
        )

    def root_anchored_events(
        self, from_block: int, to_block: int | str = "latest"
    ) -> list[RootAnchoredEvent]:
        """Return the ``RootAnchored`` events in a block range, oldest first.

        Args:
            from_block: First block (e.g. the deployment block).
            to_block: Last block, inclusive, or ``"latest"``.

        Returns:
            The events.
        """
        logs = self.contract.events.RootAnchored.get_logs(from_block=from_block, to_block=to_block)
        events = [
            RootAnchoredEvent(
                root=bytes(log["args"]["root"]),
                batch_id=bytes(log["args"]["batchId"]),
                leaf_count=int(log["args"]["leafCount"]),
                block_time=int(log["args"]["blockTime"]),
                block_number=int(log["blockNumber"]),
                block_hash=_hex(log["blockHash"]),
                tx_hash=_hex(log["transactionHash"]),
                log_index=int(log["logIndex"]),
            )
            for log in logs
        ]
        return sorted(events, key=lambda e: (e.block_number, e.log_index))


class VoucherClient(_Client):
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
        return int(self._call(self.contract.functions.voucherOfClaim(_b32(claim_id, "claim_id"))))

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
        claim_id, customer_ref, amount, expires_at, redeemed, breach_leaf, root = fields
        return VoucherInfo(
            voucher_id=voucher_id,
            claim_id=bytes(claim_id),
            customer_ref=bytes(customer_ref),
            amount=int(amount),
            expires_at=int(expires_at),
            redeemed=bool(redeemed),
            breach_leaf=bytes(breach_leaf),
            root=bytes(root),
        )

    def issue(
        self,
        claim_id: bytes,
        customer_ref: bytes,
        amount: int,
        expires_at: int,
        breach_leaf: bytes,
        proof: Sequence[bytes],
        root: bytes,
    ) -> IssueReceipt:
        """Issue a voucher for ``claim_id`` backed by the anchored breach leaf.

        Check :py:meth:`voucher_of_claim` first when retrying: a claim can be issued once.

        Args:
            claim_id: The 32-byte claim id (one per ticket and breach kind).
            customer_ref: Salted 32-byte hash of the customer's account.
            amount: Face value (> 0).
            expires_at: Unix time from which it can no longer be redeemed (in the future).
            breach_leaf: The SLA-breach evidence leaf.
            proof: The leaf's Merkle proof.
            root: The anchored root.

        Returns:
            The new voucher's id and the mined transaction.

        Raises:
            ContractRevertError: E.g. ``CompensationVoucherClaimAlreadyIssued``,
                ``CompensationVoucherEvidenceNotAnchored``, ``AccessControlUnauthorizedAccount``.
        """
        receipt = self._send(
            self.contract.functions.issue(
                _b32(claim_id, "claim_id"),
                _b32(customer_ref, "customer_ref"),
                amount,
                expires_at,
                _b32(breach_leaf, "breach_leaf"),
                [_b32(p, "proof element") for p in proof],
                _b32(root, "root"),
            )
        )
        issued = self.contract.events.VoucherIssued().process_receipt(receipt, errors=DISCARD)
        if len(issued) != 1:
            raise RuntimeError(f"expected one VoucherIssued event, got {len(issued)}")
        return IssueReceipt(
            voucher_id=int(issued[0]["args"]["voucherId"]),
            tx_hash=_hex(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
        )

    def redeem(self, voucher_id: int) -> RedeemReceipt:
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
        return RedeemReceipt(
            voucher_id=voucher_id,
            tx_hash=_hex(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
        )


RPC_BATCH_LIMIT = 100


def rpc_batch(w3: Web3, requests: Sequence[tuple[str, list[Any]]]) -> list[Any]:
    """Send JSON-RPC requests in batches and return their results in order.

    One round trip per ``RPC_BATCH_LIMIT`` requests instead of one each: a certificate of a ticket
    whose milestones sit in many batches is checked in a few requests. Calls are encoded here with
    eth_abi, because web3's per-call ABI machinery cost more than the node's answers.

    Args:
        w3: The connection.
        requests: ``(method, params)`` pairs.

    Returns:
        Each request's ``result`` (``None`` where the node found nothing, e.g. an unknown receipt).

    Raises:
        RuntimeError: If the node answers a request with an error.
    """
    results: list[Any] = []
    for start in range(0, len(requests), RPC_BATCH_LIMIT):
        chunk = [(RPCEndpoint(method), params) for method, params in requests[start:start + RPC_BATCH_LIMIT]]
        responses = w3.provider.make_batch_request(chunk)  # type: ignore[attr-defined]
        if not isinstance(responses, list):
            raise RuntimeError(f"the node refused a batch of requests: {responses.get('error')}")
        for (method, _params), response in zip(chunk, responses, strict=True):
            if "error" in response:
                raise RuntimeError(f"{method} failed on the node: {response['error']}")
            results.append(response.get("result"))
    return results
