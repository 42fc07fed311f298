"""Helpers shared by the contract tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.deployment import Deployment, deploy_contracts
from chain.registry import EvidenceRegistryClient
from chain.reverts import ContractRevertError
from chain.voucher import VoucherClient
from contracts.compile import load_artifact
from domain.hashing import keccak256
from domain.merkle import MerkleTree, build_tree
from domain.milestones import BATCH_FORMAT_V2, MilestoneKind, tree_leaf


class DevAccounts(NamedTuple):
    deployer: LocalAccount
    anchorer: LocalAccount
    issuer: LocalAccount
    redeemer: LocalAccount


class Clients(NamedTuple):
    deployment: Deployment
    registry: EvidenceRegistryClient
    voucher: VoucherClient
    redeemer: VoucherClient
    # Same contracts signed by the admin (account 0), for pause and role tests.
    admin_registry: EvidenceRegistryClient
    admin_voucher: VoucherClient


def random32() -> bytes:
    """A fresh 32-byte value: roots, batch and claim ids never collide between tests."""
    return os.urandom(32)


def leaves(count: int, salt: bytes | None = None) -> list[bytes]:
    """``count`` distinct milestone-like leaves (keccak of something longer than 64 bytes)."""
    salt = salt if salt is not None else random32()
    return [
        keccak256(salt + i.to_bytes(8, "big") + b"milestone-canonical-encoding" * 3) for i in range(count)
    ]


def anchored_tree(registry: EvidenceRegistryClient, count: int = 5) -> MerkleTree:
    """Build a random tree of ``count`` leaves and anchor its root."""
    tree = build_tree(leaves(count))
    registry.anchor(tree.root, count, random32())
    return tree


@dataclass(frozen=True)
class EvidenceTree:
    """A batch in format 2: milestone leaves and kinds, and the tree over their double-hashed tree leaves.

    Attributes:
        leaves: The milestone leaves (what the voucher contract takes as ``breachLeaf``).
        kinds: Each milestone's kind.
        tree: The Merkle tree over ``tree_leaf(leaf, kind, 2)``.
    """

    leaves: list[bytes]
    kinds: list[str]
    tree: MerkleTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    def proof(self, index: int) -> list[bytes]:
        return self.tree.proof(index)


def evidence_tree(count: int = 5, kinds: Sequence[str] | None = None) -> EvidenceTree:
    """A random format 2 batch of ``count`` milestones, all SLA breaches unless ``kinds`` says otherwise."""
    milestone_leaves = leaves(count)
    kind_list = list(kinds) if kinds is not None else [MilestoneKind.SLA_BREACH] * count
    nodes = [tree_leaf(leaf, kind, BATCH_FORMAT_V2) for leaf, kind in zip(milestone_leaves, kind_list, strict=True)]
    return EvidenceTree(milestone_leaves, kind_list, build_tree(nodes))


def anchored_evidence(registry: EvidenceRegistryClient, count: int = 5,
                      kinds: Sequence[str] | None = None) -> EvidenceTree:
    """Build a random format 2 batch (see :py:func:`evidence_tree`) and anchor its root."""
    batch = evidence_tree(count, kinds)
    registry.anchor(batch.root, count, random32())
    return batch


def chain_time(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def advance_time(w3: Web3, seconds: int) -> None:
    """Move the chain clock forward and mine a block (Anvil only)."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def expect_revert(error_name: str, action: Callable[[], Any]) -> ContractRevertError:
    """Run ``action`` and check it reverts with the custom error ``error_name``."""
    with pytest.raises(ContractRevertError) as caught:
        action()
    assert caught.value.error_name == error_name, caught.value
    return caught.value


def deploy_with_dev_accounts(w3: Web3, accounts: DevAccounts, record_dir: Path) -> Deployment:
    """Deploy (or reuse) with roles: 1 anchorer, 2 issuer, 3 redeemer; 0 deploys and administers."""
    return deploy_contracts(
        w3,
        accounts.deployer,
        anchorer=accounts.anchorer.address,
        issuer=accounts.issuer.address,
        redeemer=accounts.redeemer.address,
        record_dir=record_dir,
    )


def contract_at(w3: Web3, name: str, address: str) -> Any:
    """A plain web3 contract object for artifact ``name`` at ``address``."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name)["abi"])
