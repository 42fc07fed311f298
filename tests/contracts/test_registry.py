"""EvidenceRegistry: anchoring once, roles, pause, and on-chain proof checks."""

from __future__ import annotations

from functools import partial

from web3 import Web3

from chain.registry import EvidenceRegistryClient
from chain.sender import TransactionSender
from domain.hashing import keccak256
from domain.merkle import build_tree
from tests.contracts.helpers import Clients, DevAccounts, anchored_tree, expect_revert, leaves, random32

DEFAULT_ADMIN_ROLE = b"\x00" * 32
ANCHOR_ROLE = keccak256(b"ANCHOR_ROLE")


def test_anchor_records_block_and_batch(w3: Web3, clients: Clients) -> None:
    tree = build_tree(leaves(7))
    batch_id = random32()
    receipt = clients.registry.anchor(tree.root, 7, batch_id)

    block = w3.eth.get_block(receipt.block_number)
    info = clients.registry.anchor_info(tree.root)
    assert info is not None
    assert info.block_number == receipt.block_number
    assert info.block_time == block["timestamp"]
    assert info.leaf_count == 7
    assert info.batch_id == batch_id
    assert clients.registry.batch_root(batch_id) == tree.root
    assert receipt.block_hash == "0x" + bytes(block["hash"]).hex()


def test_unknown_root_and_batch_read_as_none(clients: Clients) -> None:
    assert clients.registry.anchor_info(random32()) is None
    assert clients.registry.batch_root(random32()) is None


def test_anchor_emits_root_anchored(w3: Web3, clients: Clients) -> None:
    start = w3.eth.block_number + 1
    root, batch_id = random32(), random32()
    receipt = clients.registry.anchor(root, 3, batch_id)
    events = clients.registry.root_anchored_events(start, receipt.block_number)
    assert [(e.root, e.batch_id, e.leaf_count, e.tx_hash) for e in events] == [
        (root, batch_id, 3, receipt.tx_hash)
    ]
    # Both keys are indexed, so consumers can filter on either.
    log = w3.eth.get_transaction_receipt(receipt.tx_hash)["logs"][0]
    assert log["topics"][1] == root and log["topics"][2] == batch_id


def test_duplicate_root_reverts(clients: Clients) -> None:
    root = random32()
    clients.registry.anchor(root, 1, random32())
    error = expect_revert(
        "EvidenceRegistryRootAlreadyAnchored", lambda: clients.registry.anchor(root, 1, random32())
    )
    assert error.error_args == (root,)


def test_duplicate_batch_reverts(clients: Clients) -> None:
    batch_id = random32()
    first = random32()
    clients.registry.anchor(first, 1, batch_id)
    error = expect_revert(
        "EvidenceRegistryBatchAlreadyAnchored", lambda: clients.registry.anchor(random32(), 1, batch_id)
    )
    assert error.error_args == (batch_id,)
    assert clients.registry.batch_root(batch_id) == first


def test_zero_values_revert(clients: Clients) -> None:
    zero = b"\x00" * 32
    expect_revert("EvidenceRegistryZeroRoot", lambda: clients.registry.anchor(zero, 1, random32()))
    expect_revert("EvidenceRegistryZeroBatchId", lambda: clients.registry.anchor(random32(), 1, zero))
    expect_revert("EvidenceRegistryZeroLeafCount", lambda: clients.registry.anchor(random32(), 0, random32()))


def test_unauthorised_anchor_reverts(w3: Web3, clients: Clients, dev_accounts: DevAccounts) -> None:
    for account in (dev_accounts.deployer, dev_accounts.issuer, dev_accounts.redeemer):
        outsider = EvidenceRegistryClient(w3, clients.deployment.registry, account)
        error = expect_revert(
            "AccessControlUnauthorizedAccount", partial(outsider.anchor, random32(), 1, random32())
        )
        assert error.error_args == (account.address.lower(), ANCHOR_ROLE)


def test_verify_leaf_needs_an_anchored_root_and_a_valid_proof(clients: Clients) -> None:
    tree = anchored_tree(clients.registry, 6)
    for i, leaf in enumerate(tree.leaves):
        assert clients.registry.verify_leaf(leaf, tree.proof(i), tree.root)
    assert not clients.registry.verify_leaf(tree.leaves[0], tree.proof(1), tree.root)
    assert not clients.registry.verify_leaf(random32(), tree.proof(0), tree.root)

    unanchored = build_tree(leaves(6))
    assert not clients.registry.verify_leaf(unanchored.leaves[2], unanchored.proof(2), unanchored.root)


def test_single_leaf_tree_root_is_the_leaf(clients: Clients) -> None:
    tree = anchored_tree(clients.registry, 1)
    assert tree.root == tree.leaves[0] and tree.proof(0) == []
    assert clients.registry.verify_leaf(tree.leaves[0], [], tree.root)


def test_pause_stops_anchoring_until_unpaused(w3: Web3, fresh: Clients, dev_accounts: DevAccounts) -> None:
    admin = TransactionSender(w3, dev_accounts.deployer)
    functions = fresh.registry.contract.functions
    abi = fresh.registry.abi
    admin.send(functions.pause(), abi=abi)
    assert functions.paused().call()
    expect_revert("PausableEnforcedPause", lambda: fresh.registry.anchor(random32(), 1, random32()))
    expect_revert("PausableEnforcedPause", lambda: admin.send(functions.pause(), abi=abi))
    admin.send(functions.unpause(), abi=abi)
    expect_revert("PausableExpectedPause", lambda: admin.send(functions.unpause(), abi=abi))
    fresh.registry.anchor(random32(), 1, random32())


def test_only_admin_can_pause(w3: Web3, fresh: Clients, dev_accounts: DevAccounts) -> None:
    sender = TransactionSender(w3, dev_accounts.anchorer)
    error = expect_revert(
        "AccessControlUnauthorizedAccount",
        lambda: sender.send(fresh.registry.contract.functions.pause(), abi=fresh.registry.abi),
    )
    assert error.error_args == (dev_accounts.anchorer.address.lower(), DEFAULT_ADMIN_ROLE)


def test_roles_cannot_be_self_granted(w3: Web3, fresh: Clients, dev_accounts: DevAccounts) -> None:
    functions = fresh.registry.contract.functions
    abi = fresh.registry.abi
    anchorer = TransactionSender(w3, dev_accounts.anchorer)
    issuer = TransactionSender(w3, dev_accounts.issuer)
    # The anchorer cannot hand its role on, nor make itself admin.
    for call in (
        functions.grantRole(ANCHOR_ROLE, dev_accounts.issuer.address),
        functions.grantRole(DEFAULT_ADMIN_ROLE, dev_accounts.anchorer.address),
    ):
        error = expect_revert("AccessControlUnauthorizedAccount", partial(anchorer.send, call, abi=abi))
        assert error.error_args == (dev_accounts.anchorer.address.lower(), DEFAULT_ADMIN_ROLE)
    # An account without the role cannot grant it to itself.
    expect_revert(
        "AccessControlUnauthorizedAccount",
        lambda: issuer.send(functions.grantRole(ANCHOR_ROLE, dev_accounts.issuer.address), abi=abi),
    )
    assert not functions.hasRole(ANCHOR_ROLE, dev_accounts.issuer.address).call()
    assert functions.getRoleAdmin(ANCHOR_ROLE).call() == DEFAULT_ADMIN_ROLE


def test_admin_grants_and_revokes_and_renounce_needs_confirmation(
    w3: Web3, fresh: Clients, dev_accounts: DevAccounts
) -> None:
    functions = fresh.registry.contract.functions
    abi = fresh.registry.abi
    admin = TransactionSender(w3, dev_accounts.deployer)
    admin.send(functions.revokeRole(ANCHOR_ROLE, dev_accounts.anchorer.address), abi=abi)
    expect_revert(
        "AccessControlUnauthorizedAccount", lambda: fresh.registry.anchor(random32(), 1, random32())
    )
    admin.send(functions.grantRole(ANCHOR_ROLE, dev_accounts.anchorer.address), abi=abi)
    fresh.registry.anchor(random32(), 1, random32())

    anchorer = TransactionSender(w3, dev_accounts.anchorer)
    expect_revert(
        "AccessControlBadConfirmation",
        lambda: anchorer.send(functions.renounceRole(ANCHOR_ROLE, dev_accounts.issuer.address), abi=abi),
    )
    anchorer.send(functions.renounceRole(ANCHOR_ROLE, dev_accounts.anchorer.address), abi=abi)
    assert not functions.hasRole(ANCHOR_ROLE, dev_accounts.anchorer.address).call()


def test_role_constant(clients: Clients) -> None:
    assert clients.registry.contract.functions.ANCHOR_ROLE().call() == ANCHOR_ROLE
