"""What every contract client shares: the contract from its artifact, read calls, sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from chain.reverts import revert_from
from chain.sender import Buildable, TransactionSender
from contracts.compile import load_artifact
from domain.encoding import to_hex

__all__ = ["ContractClient", "TxMark", "hex_str"]


def hex_str(value: bytes) -> HexStr:
    """A transaction or block hash as web3 types it."""
    return HexStr(to_hex(value))


@dataclass(frozen=True)
class TxMark:
    """Where a mined transaction sits: enough to notice later that a reorganisation replaced it.

    Attributes:
        tx_hash: Transaction hash, ``0x``-prefixed hex.
        block_number: Block that includes it.
        block_hash: That block's hash, ``0x``-prefixed hex.
    """

    tx_hash: HexStr
    block_number: int
    block_hash: HexStr

    @classmethod
    def of(cls, entry: Any) -> TxMark:
        """The mark of a receipt or an event log (both carry these three fields)."""
        return cls(hex_str(entry["transactionHash"]), int(entry["blockNumber"]), hex_str(entry["blockHash"]))


class ContractClient:
    """A typed client of one deployed contract (subclasses name its artifact)."""

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

    def _send(self, call: Buildable) -> TxReceipt:
        if self._sender is None:
            raise RuntimeError(f"{type(self).__name__} was created without an account: read-only")
        return self._sender.send(call, abi=self.abi)

    def last_event(self, event_name: str, filters: dict[str, Any], from_block: int,
                   to_block: int | str = "latest") -> TxMark | None:
        """Where the newest ``event_name`` log matching ``filters`` (indexed arguments) was mined."""
        logs = list(getattr(self.contract.events, event_name).get_logs(
            argument_filters=filters, from_block=from_block, to_block=to_block))
        if not logs:
            return None
        return TxMark.of(max(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"]))))

    def _call(self, fn: Any) -> Any:
        try:
            return fn.call()
        except ContractLogicError as exc:
            raise revert_from(exc, self.abi, None) from exc

