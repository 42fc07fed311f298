"""Contract calls encoded and decoded from the committed ABIs, for JSON-RPC batches.

web3's contract objects cost milliseconds to build and one round trip per call; a verifier that
asks a dozen questions of two contracts sends them all in one batch instead (:py:func:`chain.rpc.
rpc_batch`), encoded here with eth_abi from the same artifacts the clients use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from chain.reverts import decode_revert
from contracts.compile import load_artifact
from domain.encoding import from_hex, to_hex
from domain.hashing import keccak256

__all__ = ["call", "decode_result", "revert_name"]


@cache
def _function(artifact: str, name: str) -> tuple[bytes, tuple[str, ...], tuple[str, ...]]:
    for entry in load_artifact(artifact)["abi"]:
        if entry.get("type") == "function" and entry["name"] == name:
            inputs = tuple(_type(arg) for arg in entry["inputs"])
            outputs = tuple(_type(arg) for arg in entry["outputs"])
            return keccak256(f"{name}({','.join(inputs)})".encode())[:4], inputs, outputs
    raise KeyError(f"{artifact} has no function {name}")


def _type(arg: dict[str, Any]) -> str:
    if arg["type"].startswith("tuple"):  # a struct: its components, in order
        return f"({','.join(_type(c) for c in arg['components'])}){arg['type'][5:]}"
    return str(arg["type"])


def call(artifact: str, address: str, name: str, *args: Any) -> tuple[str, list[Any]]:
    """The ``eth_call`` request of ``name(*args)`` on the ``artifact`` contract at ``address``."""
    selector, inputs, _ = _function(artifact, name)
    return "eth_call", [{"to": address, "data": to_hex(selector + abi_encode(list(inputs), list(args)))}, "latest"]


def decode_result(artifact: str, name: str, result: str) -> tuple[Any, ...]:
    """The decoded return values of a call to ``name`` (a single struct comes back as its fields)."""
    _, _, outputs = _function(artifact, name)
    values = tuple(abi_decode(list(outputs), from_hex(result)))
    if len(outputs) == 1 and outputs[0].startswith("("):
        return tuple(values[0])
    return values


def revert_name(artifact: str, data: str | None) -> str | None:
    """The custom error a reverted call of the ``artifact`` contract raised, if it is one of its own."""
    return decode_revert(load_artifact(artifact)["abi"], data)[0]
