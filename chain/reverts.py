"""Revert data decoded into the contracts' custom errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_typing import HexStr
from eth_utils import keccak
from web3.exceptions import ContractLogicError

from domain.encoding import from_hex

__all__ = ["ContractRevertError", "decode_revert", "revert_from"]


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
    raw = from_hex(data) if isinstance(data, str) else bytes(data)
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


def revert_from(
    exc: ContractLogicError, abi: Sequence[dict[str, Any]], tx_hash: HexStr | None
) -> ContractRevertError:
    data = exc.data if isinstance(exc.data, str) else None
    name, args = decode_revert(abi, data)
    if name is None and exc.message:
        args = (exc.message,)  # not one of our errors: keep the node's message for the log
    return ContractRevertError(name, args, tx_hash=tx_hash, data=data)
