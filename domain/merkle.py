"""Merkle trees whose proofs verify with OpenZeppelin's ``MerkleProof`` (sorted pairs).

Inner nodes hash their two children in sorted order,
``hash_pair(a, b) = keccak256(min(a, b) || max(a, b))``, so a proof is a plain list of sibling
hashes without left/right flags, and ``contracts/src/MerkleProof.sol`` checks it on-chain.

Leaves are 32-byte hashes supplied by the caller. They are never hashed again here: Qualitrail's
milestone leaves are already keccak-256 digests of a canonical encoding longer than 64 bytes, so
no leaf preimage can be confused with an inner node's 64-byte preimage (the second-preimage attack
that OpenZeppelin warns about for 64-byte leaves does not apply).

Layout: leaves stay in the caller's order. Each level pairs nodes left to right; an odd node at
the end of a level is promoted unchanged to the next level (it has no sibling, so its proof simply
skips that level). The same leaves always give the same tree.

Pure code with no I/O: it is imported inside Temporal workflow sandboxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.hashing import keccak256

__all__ = ["HASH_SIZE", "MerkleTree", "build_tree", "hash_pair", "process_proof", "verify_proof"]

HASH_SIZE = 32


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Hash two nodes in sorted order, like ``MerkleProof._hashPair``.

    Args:
        a: A 32-byte node.
        b: Another 32-byte node.

    Returns:
        ``keccak256(min(a, b) || max(a, b))``.
    """
    # Byte-wise comparison of equal-length strings is the same order as Solidity's bytes32 `<`.
    return keccak256(a + b) if a < b else keccak256(b + a)


@dataclass(frozen=True)
class MerkleTree:
    """An immutable Merkle tree.

    Attributes:
        levels: Every level of the tree, leaves first and the root's level last.
    """

    levels: tuple[tuple[bytes, ...], ...]

    @property
    def leaves(self) -> tuple[bytes, ...]:
        """The leaves, in the order they were given."""
        return self.levels[0]

    @property
    def root(self) -> bytes:
        """The 32-byte root (the leaf itself for a one-leaf tree)."""
        return self.levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """Return the proof of the leaf at ``index``: its siblings from the bottom up.

        Args:
            index: Position of the leaf in :py:attr:`leaves`.

        Returns:
            The sibling hashes; empty for a one-leaf tree.

        Raises:
            IndexError: If ``index`` is not a leaf position.
        """
        if not 0 <= index < len(self.leaves):
            raise IndexError(f"leaf index {index} out of range for {len(self.leaves)} leaves")
        proof: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            # A promoted odd node has no sibling at this level: nothing to add.
            if sibling < len(level):
                proof.append(level[sibling])
            index //= 2
        return proof


def _check_node(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")


def build_tree(leaves: Sequence[bytes]) -> MerkleTree:
    """Build the Merkle tree of ``leaves``.

    Args:
        leaves: 32-byte leaf hashes, in the order they should appear in the tree.

    Returns:
        The tree.

    Raises:
        ValueError: If ``leaves`` is empty or a leaf is not exactly 32 bytes.
    """
    if len(leaves) == 0:
        raise ValueError("a Merkle tree needs at least one leaf")
    for i, leaf in enumerate(leaves):
        _check_node(leaf, f"leaf {i}")
    level = tuple(leaves)
    levels = [level]
    while len(level) > 1:
        nxt = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = tuple(nxt)
        levels.append(level)
    return MerkleTree(levels=tuple(levels))


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Rebuild the root from ``leaf`` and ``proof``, like ``MerkleProof.processProof``.

    Args:
        leaf: The 32-byte leaf.
        proof: Sibling hashes from the bottom up.

    Returns:
        The rebuilt root.

    Raises:
        ValueError: If the leaf or a proof element is not exactly 32 bytes.
    """
    _check_node(leaf, "leaf")
    node = leaf
    for i, sibling in enumerate(proof):
        _check_node(sibling, f"proof element {i}")
        node = hash_pair(node, sibling)
    return node


def verify_proof(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Tell whether ``proof`` proves ``leaf`` under ``root``.

    Malformed input (wrong sizes) does not prove anything and returns ``False``.

    Args:
        leaf: The 32-byte leaf.
        proof: Sibling hashes from the bottom up.
        root: The expected 32-byte root.

    Returns:
        ``True`` if the rebuilt root equals ``root``.
    """
    try:
        return process_proof(leaf, proof) == root
    except ValueError:
        return False
