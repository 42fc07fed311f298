"""Client of the ``EvidenceRegistry`` contract: anchor roots, read them back, prove leaves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_typing import HexStr

from chain.base import ContractClient, TxMark, hex_str
from domain.encoding import bytes32

__all__ = ["AnchorInfo", "EvidenceRegistryClient", "RootAnchoredEvent"]

_ZERO32 = b"\x00" * 32


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


class EvidenceRegistryClient(ContractClient):
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
        root = bytes(self._call(self.contract.functions.rootOfBatch(bytes32(batch_id, "batch_id"))))
        return None if root == _ZERO32 else root

    def anchor_info(self, root: bytes) -> AnchorInfo | None:
        """Return how ``root`` was anchored.

        Args:
            root: The 32-byte Merkle root.

        Returns:
            The anchor, or ``None`` if ``root`` is not anchored.
        """
        block_time, block_number, leaf_count, batch_id = self._call(
            self.contract.functions.anchorOf(bytes32(root, "root"))
        )
        if leaf_count == 0:
            return None
        return AnchorInfo(int(block_time), int(block_number), int(leaf_count), bytes(batch_id))

    def anchor(self, root: bytes, leaf_count: int, batch_id: bytes) -> TxMark:
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
            self.contract.functions.anchor(bytes32(root, "root"), leaf_count, bytes32(batch_id, "batch_id"))
        )
        return TxMark.of(receipt)

    def anchor_event(self, batch_id: bytes, block_number: int) -> TxMark | None:
        """Where batch ``batch_id``'s ``RootAnchored`` log is in block ``block_number`` (from ``anchorOf``)."""
        # The batch id is an indexed topic, so this reads one block's logs.
        return self.last_event("RootAnchored", {"batchId": bytes32(batch_id, "batch_id")}, block_number,
                               block_number)

    def verify_leaf(self, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
        """Ask the registry whether ``proof`` proves ``leaf`` under the anchored ``root``.

        Args:
            leaf: The 32-byte leaf.
            proof: Sibling hashes from the bottom up.
            root: The 32-byte root.

        Returns:
            ``True`` only if ``root`` is anchored and the proof checks.
        """
        checked = [bytes32(p, "proof element") for p in proof]
        return bool(
            self._call(self.contract.functions.verifyLeaf(bytes32(leaf, "leaf"), checked, bytes32(root, "root")))
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
                block_hash=hex_str(log["blockHash"]),
                tx_hash=hex_str(log["transactionHash"]),
                log_index=int(log["logIndex"]),
            )
            for log in logs
        ]
        return sorted(events, key=lambda e: (e.block_number, e.log_index))

