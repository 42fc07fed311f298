"""CompensationVoucher takes nothing but an anchored SLA-breach milestone as evidence, once, for a bounded amount.

Each test is an attack that the contracts before batch format 2 let through: the root with an empty
proof, an inner node with a partial proof, a milestone of another kind, one breach backing several
claims, an unbounded amount.
"""

from __future__ import annotations

from functools import partial

from web3 import Web3

from chain.sender import TransactionSender
from chain.voucher import VoucherClient
from domain.hashing import keccak256
from domain.merkle import hash_pair
from domain.milestones import BATCH_FORMAT_V2, MilestoneKind, kind_hash, tree_leaf
from tests.contracts.helpers import (
    Clients,
    DevAccounts,
    EvidenceTree,
    anchored_evidence,
    chain_time,
    expect_revert,
    random32,
)

DAY = 86_400
DEFAULT_ADMIN_ROLE = b"\x00" * 32


def _try_issue(client: VoucherClient, leaf: bytes, proof: list[bytes], root: bytes, *, amount: int = 500,
               claim_id: bytes | None = None) -> int:
    return client.issue(claim_id or random32(), random32(), amount, chain_time(client.w3) + 30 * DAY,
                        leaf, proof, root).voucher_id


def test_a_real_breach_gets_one_voucher_bound_to_its_leaf(clients: Clients) -> None:
    batch = anchored_evidence(clients.registry, 6, [MilestoneKind.OPENED, MilestoneKind.SLA_BREACH] * 3)
    voucher_id = _try_issue(clients.voucher, batch.leaves[3], batch.proof(3), batch.root)
    assert clients.voucher.voucher_of_breach(batch.leaves[3]) == voucher_id
    assert clients.voucher.voucher(voucher_id).breach_leaf == batch.leaves[3]
    # The registry proves the kind too, and its own Solidity node matches domain.milestones.tree_leaf.
    registry = clients.registry.contract.functions
    breach = kind_hash(MilestoneKind.SLA_BREACH)
    assert registry.verifyMilestone(batch.leaves[3], breach, batch.proof(3), batch.root).call()
    assert registry.milestoneNode(batch.leaves[3], breach).call() == tree_leaf(
        batch.leaves[3], MilestoneKind.SLA_BREACH, BATCH_FORMAT_V2)
    assert clients.voucher.contract.functions.BREACH_KIND().call() == keccak256(b"sla_breach")


def test_the_root_with_an_empty_proof_is_no_evidence(clients: Clients) -> None:
    batch = anchored_evidence(clients.registry, 4)
    expect_revert("CompensationVoucherEvidenceNotAnchored",
                  lambda: _try_issue(clients.voucher, batch.root, [], batch.root))


def test_an_inner_node_with_a_partial_proof_is_no_evidence(clients: Clients) -> None:
    batch = anchored_evidence(clients.registry, 4)
    nodes = batch.tree.leaves
    inner = hash_pair(nodes[0], nodes[1])  # the parent of the first two tree leaves
    partial = batch.proof(0)[1:]  # the rest of leaf 0's path proves that parent under the root
    assert batch.tree.levels[1][0] == inner
    expect_revert("CompensationVoucherEvidenceNotAnchored",
                  lambda: _try_issue(clients.voucher, inner, partial, batch.root))


def test_a_milestone_of_another_kind_is_no_evidence(clients: Clients) -> None:
    batch = anchored_evidence(clients.registry, 4, [MilestoneKind.OPENED, MilestoneKind.SLA_WARNING,
                                                    MilestoneKind.RESOLVED, MilestoneKind.SLA_BREACH])
    for index in range(3):
        # Neither the milestone leaf nor its tree leaf (whose proof is valid) passes as a breach.
        for leaf in (batch.leaves[index], batch.tree.leaves[index]):
            expect_revert("CompensationVoucherEvidenceNotAnchored",
                          partial(_try_issue, clients.voucher, leaf, batch.proof(index), batch.root))
    assert _try_issue(clients.voucher, batch.leaves[3], batch.proof(3), batch.root) > 0


def test_one_breach_backs_one_voucher(clients: Clients) -> None:
    batch: EvidenceTree = anchored_evidence(clients.registry, 2)
    first = _try_issue(clients.voucher, batch.leaves[0], batch.proof(0), batch.root)
    error = expect_revert("CompensationVoucherBreachAlreadyCompensated",
                          lambda: _try_issue(clients.voucher, batch.leaves[0], batch.proof(0), batch.root))
    assert error.error_args == (batch.leaves[0], first)
    assert clients.voucher.voucher_of_breach(batch.leaves[0]) == first


def test_the_amount_is_capped_by_the_admin(w3: Web3, fresh: Clients, dev_accounts: DevAccounts) -> None:
    cap = fresh.voucher.max_amount()
    assert cap == 20_000  # config/policy.toml [compensation] max_voucher_amount
    batch = anchored_evidence(fresh.registry, 3)
    claim = random32()
    error = expect_revert("CompensationVoucherAmountAboveCap",
                          lambda: _try_issue(fresh.voucher, batch.leaves[0], batch.proof(0), batch.root,
                                             amount=cap + 1, claim_id=claim))
    assert error.error_args == (claim, cap + 1, cap)
    assert _try_issue(fresh.voucher, batch.leaves[0], batch.proof(0), batch.root, amount=cap) > 0

    # Only the admin moves the cap, and each move is an event.
    expect_revert("AccessControlUnauthorizedAccount", lambda: fresh.voucher.set_max_amount(10**30))
    mark = fresh.admin_voucher.set_max_amount(100)
    receipt = w3.eth.get_transaction_receipt(mark.tx_hash)
    (event,) = fresh.voucher.contract.events.MaxAmountChanged().process_receipt(receipt)
    assert dict(event["args"]) == {"previousMax": cap, "newMax": 100}
    expect_revert("CompensationVoucherAmountAboveCap",
                  lambda: _try_issue(fresh.voucher, batch.leaves[1], batch.proof(1), batch.root, amount=101))
    assert not fresh.voucher.contract.functions.hasRole(DEFAULT_ADMIN_ROLE, dev_accounts.issuer.address).call()
    assert TransactionSender(w3, dev_accounts.deployer).chain_id() == 31337
