"""Signs and sends one account's transactions, with nonces read from the chain.

Every transaction goes through a :py:class:`TransactionSender`, which:

- serialises the sends of one account inside this process with a lock shared by every sender of
  that account;
- reads the nonce from the chain (``"pending"``) for each send and never caches it: after a chain
  reorganisation, or an Anvil restored from an older state dump, a cached nonce would be ahead of
  the chain and every later transaction would hang;
- re-reads the nonce and retries (a bounded number of times) when the node answers "nonce too low"
  or that another transaction already holds the nonce;
- waits for the receipt with a timeout and, optionally, for confirmations;
- raises :py:class:`chain.reverts.ContractRevertError` with the decoded custom error name when a
  transaction would revert (gas estimation) or did revert (status 0).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt

from chain.keys import check_key_allowed
from chain.reverts import ContractRevertError, revert_from
from domain.encoding import to_hex

__all__ = ["Buildable", "TransactionSendError", "TransactionSender"]


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

class TransactionSendError(Exception):
    """The node kept refusing a transaction after the bounded retries."""

class Buildable(Protocol):
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

    def send(self, call: Buildable, *, abi: Sequence[dict[str, Any]], gas: int | None = None) -> TxReceipt:
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
        self, call: Buildable, abi: Sequence[dict[str, Any]], chain_id: int, gas: int | None
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
                raise revert_from(exc, abi, None) from exc
            signed = self.account.sign_transaction(cast(dict[str, Any], tx))
            tx_hash = HexStr(to_hex(signed.hash))
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
            return revert_from(exc, abi, tx_hash)
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
