"""Python Merkle proofs verify in the deployed registry, and no single flipped bit ever does."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.merkle import build_tree, verify_proof
from tests.contracts.helpers import Clients, leaves, random32


def _flip(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# Bounded: each example anchors one root (one transaction) and makes a handful of eth_calls.
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=1, max_value=2000),
    salt=st.binary(min_size=8, max_size=8),
    pick=st.integers(min_value=0, max_value=2**32 - 1),
    bit=st.integers(min_value=0, max_value=255),
)
@example(count=1, salt=b"\x00" * 8, pick=0, bit=0)
@example(count=2, salt=b"\x01" * 8, pick=1, bit=255)
@example(count=2000, salt=b"\x02" * 8, pick=1999, bit=7)
@example(count=1025, salt=b"\x03" * 8, pick=1024, bit=128)  # last leaf promoted up ten levels
def test_proofs_verify_on_chain_and_bit_flips_never_do(
    clients: Clients, count: int, salt: bytes, pick: int, bit: int
) -> None:
    registry = clients.registry
    tree = build_tree(leaves(count, salt))
    # Hypothesis replays and shrinks examples: a root may already be anchored.
    if registry.anchor_info(tree.root) is None:
        registry.anchor(tree.root, count, random32())

    indices = sorted({pick % count, (pick // 7) % count, count - 1})
    for index in indices:
        leaf, proof = tree.leaves[index], tree.proof(index)
        assert verify_proof(leaf, proof, tree.root)
        assert registry.verify_leaf(leaf, proof, tree.root)

    index = indices[0]
    leaf, proof = tree.leaves[index], tree.proof(index)
    bad_leaf = _flip(leaf, bit)
    assert not verify_proof(bad_leaf, proof, tree.root)
    assert not registry.verify_leaf(bad_leaf, proof, tree.root)
    if proof:
        position = pick % len(proof)
        bad_proof = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        assert not verify_proof(leaf, bad_proof, tree.root)
        assert not registry.verify_leaf(leaf, bad_proof, tree.root)
    # A flipped root is not anchored (and does not match): never verifies.
    assert not registry.verify_leaf(leaf, proof, _flip(tree.root, bit))
