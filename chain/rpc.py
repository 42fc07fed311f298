"""JSON-RPC below the contract clients: connections, batched requests and block marks.

A block mark is ``(number, hash)``: where a transaction was seen. Reorganisations (and an Anvil
restored from an older state) replace blocks, so every recorded mark is checked again later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.exceptions import BlockNotFound
from web3.types import RPCEndpoint

from domain.encoding import to_hex

__all__ = ["RPC_BATCH_LIMIT", "RpcError", "block_hash_at", "connect", "rpc_batch", "standing_marks",
           "wait_confirmed"]

RPC_BATCH_LIMIT = 100


@dataclass(frozen=True)
class RpcError:
    """A request of a batch that the node answered with an error (a reverted call, say)."""

    method: str
    message: str
    data: str | None


def connect(rpc_url: str, timeout: float = 10.0) -> Web3:
    """Return a Web3 instance for ``rpc_url`` (HTTP JSON-RPC).

    Args:
        rpc_url: The endpoint, e.g. ``http://127.0.0.1:8545``.
        timeout: Seconds per request.

    Returns:
        The (lazily connecting) Web3 instance.
    """
    # Only the chain id is cached (web3 asks for it before every call): never blocks, which must be
    # re-read to notice a rewritten chain.
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, cache_allowed_requests=True,
                                  cacheable_requests={RPCEndpoint("eth_chainId")}))


def rpc_batch(w3: Web3, requests: Sequence[tuple[str, list[Any]]], *, errors: bool = False) -> list[Any]:
    """Send JSON-RPC requests in batches and return their results in order.

    One round trip per ``RPC_BATCH_LIMIT`` requests instead of one each: a certificate of a ticket
    whose milestones sit in many batches is checked in a few requests. Calls are encoded here with
    eth_abi, because web3's per-call ABI machinery cost more than the node's answers.

    Args:
        w3: The connection.
        requests: ``(method, params)`` pairs.
        errors: Give a request the node refused as an :py:class:`RpcError` in its place instead
            of raising (a batch of calls where some may revert).

    Returns:
        Each request's ``result`` (``None`` where the node found nothing, e.g. an unknown receipt).

    Raises:
        RuntimeError: If the node refuses the batch, or a request when ``errors`` is false.
    """
    results: list[Any] = []
    for start in range(0, len(requests), RPC_BATCH_LIMIT):
        chunk = [(RPCEndpoint(method), params) for method, params in requests[start:start + RPC_BATCH_LIMIT]]
        responses = w3.provider.make_batch_request(chunk)  # type: ignore[attr-defined]
        if not isinstance(responses, list):
            raise RuntimeError(f"the node refused a batch of requests: {responses.get('error')}")
        for (method, _params), response in zip(chunk, responses, strict=True):
            if "error" in response:
                if not errors:
                    raise RuntimeError(f"{method} failed on the node: {response['error']}")
                error = response["error"] if isinstance(response["error"], dict) else {}
                data = error.get("data")
                results.append(RpcError(method, str(error.get("message", response["error"])),
                                        data if isinstance(data, str) else None))
                continue
            results.append(response.get("result"))
    return results


def block_hash_at(w3: Web3, number: int) -> str | None:
    """Return the hash of block ``number`` as lowercase ``0x``-hex, or ``None`` past the head."""
    try:
        return to_hex(w3.eth.get_block(number)["hash"])
    except BlockNotFound:
        return None


def wait_confirmed(w3: Web3, block_number: int, block_hash: str, *, confirmations: int, timeout: float,
                   on_poll: Callable[[], None] = lambda: None, poll: float = 0.2) -> bool:
    """Wait until ``block_number`` has ``confirmations`` blocks on top and still has its hash.

    Used when an earlier attempt's transaction is found on chain: it must be as final as a
    transaction this attempt would have waited for.

    Args:
        w3: The connection.
        block_number: The block to confirm.
        block_hash: Its expected hash.
        confirmations: Blocks needed on top of it.
        timeout: Seconds to wait at most.
        on_poll: Called at every poll (an activity heartbeats there).
        poll: Seconds between polls.

    Returns:
        ``False`` if the block was replaced meanwhile (the caller looks again).

    Raises:
        TimeoutError: If the confirmations did not come in time.
    """
    deadline = time.monotonic() + timeout
    while confirmations > 0 and w3.eth.block_number - block_number < confirmations:
        if time.monotonic() > deadline:
            raise TimeoutError(f"block {block_number} did not get {confirmations} confirmations in time")
        on_poll()
        time.sleep(poll)
    return block_hash_at(w3, block_number) == block_hash.lower()


def standing_marks(w3: Web3, marks: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Return the ``(block number, block hash)`` marks still on the chain that stands.

    Every mark is checked (in batched requests): after a rewind the chain can grow past the old
    head again, so a newer standing block says nothing about a mark recorded before the rewind.

    Args:
        w3: The connection.
        marks: Recorded ``(number, 0x-hash)`` pairs.

    Returns:
        The subset whose block is still there with the same hash.
    """
    wanted = sorted({(n, h.lower()) for n, h in marks if h})
    numbers = sorted({n for n, _ in wanted})
    blocks = rpc_batch(w3, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    hashes = {n: (b or {}).get("hash", "").lower() for n, b in zip(numbers, blocks, strict=True)}
    return {(n, h) for n, h in wanted if hashes.get(n) == h}
