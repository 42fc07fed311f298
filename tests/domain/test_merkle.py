"""Pure unit tests of the OpenZeppelin-compatible Merkle tree."""

from __future__ import annotations

import dataclasses

import pytest

from domain.hashing import keccak256
from domain.merkle import build_tree, hash_pair, process_proof, verify_proof


def _leaves(n: int) -> list[bytes]:
    return [keccak256(b"leaf-" + i.to_bytes(4, "big")) for i in range(n)]


def test_keccak256_is_ethereum_keccak_not_sha3() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"ANCHOR_ROLE") == keccak256(bytearray(b"ANCHOR_ROLE"))  # type: ignore[arg-type]


def test_hash_pair_is_sorted_and_commutative() -> None:
    a, b = _leaves(2)
    low, high = sorted((a, b))
    assert hash_pair(a, b) == hash_pair(b, a) == keccak256(low + high)


def test_one_leaf_tree_is_the_leaf() -> None:
    (leaf,) = _leaves(1)
    tree = build_tree([leaf])
    assert tree.root == leaf
    assert tree.proof(0) == []
    assert verify_proof(leaf, [], leaf)


def test_two_and_three_leaves_by_hand() -> None:
    a, b, c = _leaves(3)
    assert build_tree([a, b]).root == hash_pair(a, b)
    tree = build_tree([a, b, c])
    # c has no sibling on the first level: promoted unchanged, then paired with hash(a, b).
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(2) == [hash_pair(a, b)]
    assert tree.proof(0) == [b, c]


def test_every_proof_verifies_for_sizes_1_to_70() -> None:
    for n in range(1, 71):
        leaves = _leaves(n)
        tree = build_tree(leaves)
        assert tree.leaves == tuple(leaves)
        for i, leaf in enumerate(leaves):
            proof = tree.proof(i)
            assert len(proof) <= max(n - 1, 0).bit_length()
            assert process_proof(leaf, proof) == tree.root
            assert verify_proof(leaf, proof, tree.root)


def test_wrong_leaf_proof_or_root_fails() -> None:
    leaves = _leaves(10)
    tree = build_tree(leaves)
    assert not verify_proof(leaves[0], tree.proof(1), tree.root)
    assert not verify_proof(keccak256(b"other"), tree.proof(0), tree.root)
    assert not verify_proof(leaves[0], tree.proof(0), keccak256(b"other root"))
    assert not verify_proof(leaves[0], tree.proof(0)[:-1], tree.root)


def test_deterministic_and_order_sensitive() -> None:
    leaves = _leaves(13)
    assert build_tree(leaves) == build_tree(list(leaves))
    assert build_tree(leaves).root != build_tree(leaves[::-1]).root


def test_rejects_empty_and_badly_sized_input() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        build_tree([])
    with pytest.raises(ValueError, match="32 bytes"):
        build_tree([b"\x00" * 31])
    with pytest.raises(ValueError, match="32 bytes"):
        build_tree([*_leaves(2), b"\x00" * 64])
    with pytest.raises(ValueError, match="32 bytes"):
        build_tree(["00" * 32])  # type: ignore[list-item]
    # Malformed proofs prove nothing.
    assert not verify_proof(b"\x00" * 31, [], b"\x00" * 31)
    assert not verify_proof(_leaves(1)[0], [b"short"], _leaves(1)[0])


def test_proof_index_out_of_range() -> None:
    tree = build_tree(_leaves(3))
    with pytest.raises(IndexError):
        tree.proof(3)
    with pytest.raises(IndexError):
        tree.proof(-1)


def test_tree_is_frozen() -> None:
    tree = build_tree(_leaves(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.levels = ()  # type: ignore[misc]
