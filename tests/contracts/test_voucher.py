"""CompensationVoucher: one voucher per claim, only on anchored evidence, redeemed at most once."""

from __future__ import annotations

from functools import partial

import pytest
from web3 import Web3

from chain.reverts import ContractRevertError
from chain.sender import TransactionSender
from chain.voucher import VoucherClient
from contracts.compile import load_artifact
from domain.hashing import keccak256
from tests.contracts.helpers import (
    Clients,
    DevAccounts,
    EvidenceTree,
    advance_time,
    anchored_evidence,
    chain_time,
    evidence_tree,
    expect_revert,
    random32,
)

DEFAULT_ADMIN_ROLE = b"\x00" * 32
ISSUER_ROLE = keccak256(b"ISSUER_ROLE")
REDEEMER_ROLE = keccak256(b"REDEEMER_ROLE")
DAY = 86_400


def _issue(client: VoucherClient, tree: EvidenceTree, index: int = 0, claim_id: bytes | None = None) -> int:
    return client.issue(
        claim_id if claim_id is not None else random32(),
        random32(),
        500,
        chain_time(client.w3) + 30 * DAY,
        tree.leaves[index],
        tree.proof(index),
        tree.root,
    ).voucher_id


def test_issue_stores_the_voucher_and_ids_start_at_one(w3: Web3, fresh: Clients) -> None:
    tree = anchored_evidence(fresh.registry, 9)
    claim_id, customer_ref = random32(), random32()
    expires_at = chain_time(w3) + 30 * DAY
    receipt = fresh.voucher.issue(
        claim_id, customer_ref, 1250, expires_at, tree.leaves[4], tree.proof(4), tree.root
    )
    assert receipt.voucher_id == 1
    assert fresh.voucher.voucher_of_claim(claim_id) == 1
    info = fresh.voucher.voucher(1)
    assert (info.claim_id, info.customer_ref, info.amount, info.expires_at) == (
        claim_id,
        customer_ref,
        1250,
        expires_at,
    )
    assert (info.breach_leaf, info.root, info.redeemed) == (tree.leaves[4], tree.root, False)
    assert fresh.voucher.contract.functions.registry().call() == fresh.deployment.registry
    assert _issue(fresh.voucher, tree, 5) == 2
    assert fresh.voucher.contract.functions.voucherCount().call() == 2


def test_issue_emits_voucher_issued(w3: Web3, clients: Clients) -> None:
    tree = anchored_evidence(clients.registry, 3)
    claim_id, customer_ref = random32(), random32()
    expires_at = chain_time(w3) + DAY
    issued = clients.voucher.issue(
        claim_id, customer_ref, 42, expires_at, tree.leaves[1], tree.proof(1), tree.root
    )
    receipt = w3.eth.get_transaction_receipt(issued.tx_hash)
    (event,) = clients.voucher.contract.events.VoucherIssued().process_receipt(receipt)
    assert dict(event["args"]) == {
        "voucherId": issued.voucher_id,
        "claimId": claim_id,
        "customerRef": customer_ref,
        "amount": 42,
        "expiresAt": expires_at,
        "breachLeaf": tree.leaves[1],
        "root": tree.root,
    }
    assert receipt["logs"][0]["topics"][2] == claim_id  # claimId is indexed


def test_unknown_claim_reads_as_zero(clients: Clients) -> None:
    assert clients.voucher.voucher_of_claim(random32()) == 0


def test_double_issue_reverts(clients: Clients) -> None:
    tree = anchored_evidence(clients.registry, 4)
    claim_id = random32()
    first = _issue(clients.voucher, tree, 0, claim_id)
    # Same claim, even with other (valid) evidence: refused.
    error = expect_revert(
        "CompensationVoucherClaimAlreadyIssued", lambda: _issue(clients.voucher, tree, 1, claim_id)
    )
    assert error.error_args == (claim_id,)
    assert clients.voucher.voucher_of_claim(claim_id) == first


def test_issue_for_a_leaf_not_under_an_anchored_root_is_refused(clients: Clients) -> None:
    tree = anchored_evidence(clients.registry, 4)
    claim_id = random32()
    stranger = random32()
    expires_at = chain_time(clients.voucher.w3) + DAY
    error = expect_revert(
        "CompensationVoucherEvidenceNotAnchored",
        lambda: clients.voucher.issue(
            claim_id, random32(), 1, expires_at, stranger, tree.proof(0), tree.root
        ),
    )
    assert error.error_args == (stranger, tree.root)
    # A valid proof under a root that was never anchored is refused too.
    unanchored = evidence_tree(4)
    expect_revert(
        "CompensationVoucherEvidenceNotAnchored",
        lambda: clients.voucher.issue(
            claim_id, random32(), 1, expires_at, unanchored.leaves[0], unanchored.proof(0), unanchored.root
        ),
    )
    # The refused claim was not consumed: the claim mark rolled back with the revert.
    assert clients.voucher.voucher_of_claim(claim_id) == 0
    assert _issue(clients.voucher, tree, 2, claim_id) > 0


def test_issue_input_checks(clients: Clients) -> None:
    tree = anchored_evidence(clients.registry, 2)
    now = chain_time(clients.voucher.w3)
    leaf, proof, root = tree.leaves[0], tree.proof(0), tree.root
    expect_revert(
        "CompensationVoucherZeroAmount",
        lambda: clients.voucher.issue(random32(), random32(), 0, now + DAY, leaf, proof, root),
    )
    error = expect_revert(
        "CompensationVoucherExpiryInPast",
        lambda: clients.voucher.issue(random32(), random32(), 1, now - 1, leaf, proof, root),
    )
    assert error.error_args[0] == now - 1
    expect_revert(
        "CompensationVoucherZeroClaimId",
        lambda: clients.voucher.issue(b"\x00" * 32, random32(), 1, now + DAY, leaf, proof, root),
    )


def test_unauthorised_issue_reverts(w3: Web3, clients: Clients, dev_accounts: DevAccounts) -> None:
    tree = anchored_evidence(clients.registry, 2)
    for account in (dev_accounts.deployer, dev_accounts.anchorer, dev_accounts.redeemer):
        outsider = VoucherClient(w3, clients.deployment.voucher, account)
        error = expect_revert("AccessControlUnauthorizedAccount", partial(_issue, outsider, tree))
        assert error.error_args == (account.address.lower(), ISSUER_ROLE)


def test_redeem_once(w3: Web3, clients: Clients, dev_accounts: DevAccounts) -> None:
    voucher_id = _issue(clients.voucher, anchored_evidence(clients.registry, 3))
    redeemed = clients.redeemer.redeem(voucher_id)
    assert clients.voucher.voucher(voucher_id).redeemed
    receipt = w3.eth.get_transaction_receipt(redeemed.tx_hash)
    (event,) = clients.voucher.contract.events.VoucherRedeemed().process_receipt(receipt)
    assert dict(event["args"]) == {"voucherId": voucher_id, "by": dev_accounts.redeemer.address}

    error = expect_revert("CompensationVoucherAlreadyRedeemed", lambda: clients.redeemer.redeem(voucher_id))
    assert error.error_args == (voucher_id,)


def test_unauthorised_redeem_reverts(w3: Web3, clients: Clients, dev_accounts: DevAccounts) -> None:
    voucher_id = _issue(clients.voucher, anchored_evidence(clients.registry, 2))
    for account in (dev_accounts.deployer, dev_accounts.anchorer, dev_accounts.issuer):
        outsider = VoucherClient(w3, clients.deployment.voucher, account)
        error = expect_revert("AccessControlUnauthorizedAccount", partial(outsider.redeem, voucher_id))
        assert error.error_args == (account.address.lower(), REDEEMER_ROLE)
    assert not clients.voucher.voucher(voucher_id).redeemed


def test_unknown_voucher(clients: Clients) -> None:
    unknown = clients.voucher.contract.functions.voucherCount().call() + 1
    error = expect_revert("CompensationVoucherUnknownVoucher", lambda: clients.redeemer.redeem(unknown))
    assert error.error_args == (unknown,)
    expect_revert("CompensationVoucherUnknownVoucher", lambda: clients.redeemer.redeem(0))
    with pytest.raises(LookupError):
        clients.voucher.voucher(unknown)


def test_expired_voucher_cannot_be_redeemed(w3: Web3, clients: Clients) -> None:
    tree = anchored_evidence(clients.registry, 2)
    expires_at = chain_time(w3) + 100
    voucher_id = clients.voucher.issue(
        random32(), random32(), 7, expires_at, tree.leaves[0], tree.proof(0), tree.root
    ).voucher_id
    advance_time(w3, 200)
    error = expect_revert("CompensationVoucherExpired", lambda: clients.redeemer.redeem(voucher_id))
    assert error.error_args == (voucher_id, expires_at)


def test_pause_stops_issue_and_redeem(w3: Web3, fresh: Clients, dev_accounts: DevAccounts) -> None:
    tree = anchored_evidence(fresh.registry, 3)
    voucher_id = _issue(fresh.voucher, tree, 0)
    functions = fresh.voucher.contract.functions
    abi = fresh.voucher.abi
    admin = TransactionSender(w3, dev_accounts.deployer)

    error = expect_revert(
        "AccessControlUnauthorizedAccount",
        lambda: TransactionSender(w3, dev_accounts.issuer).send(functions.pause(), abi=abi),
    )
    assert error.error_args == (dev_accounts.issuer.address.lower(), DEFAULT_ADMIN_ROLE)

    admin.send(functions.pause(), abi=abi)
    expect_revert("PausableEnforcedPause", lambda: _issue(fresh.voucher, tree, 1))
    expect_revert("PausableEnforcedPause", lambda: fresh.redeemer.redeem(voucher_id))
    admin.send(functions.unpause(), abi=abi)
    _issue(fresh.voucher, tree, 1)
    fresh.redeemer.redeem(voucher_id)


def test_roles_cannot_be_self_granted(w3: Web3, fresh: Clients, dev_accounts: DevAccounts) -> None:
    functions = fresh.voucher.contract.functions
    abi = fresh.voucher.abi
    issuer = TransactionSender(w3, dev_accounts.issuer)
    redeemer = TransactionSender(w3, dev_accounts.redeemer)
    attempts = [
        (issuer, functions.grantRole(REDEEMER_ROLE, dev_accounts.issuer.address)),
        (issuer, functions.grantRole(ISSUER_ROLE, dev_accounts.anchorer.address)),
        (issuer, functions.grantRole(DEFAULT_ADMIN_ROLE, dev_accounts.issuer.address)),
        (redeemer, functions.grantRole(ISSUER_ROLE, dev_accounts.redeemer.address)),
    ]
    for sender, call in attempts:
        error = expect_revert("AccessControlUnauthorizedAccount", partial(sender.send, call, abi=abi))
        assert error.error_args == (sender.address.lower(), DEFAULT_ADMIN_ROLE)
    assert not functions.hasRole(REDEEMER_ROLE, dev_accounts.issuer.address).call()
    assert not functions.hasRole(ISSUER_ROLE, dev_accounts.redeemer.address).call()

    # The admin can move the issuer role; the old issuer then fails.
    admin = TransactionSender(w3, dev_accounts.deployer)
    admin.send(functions.revokeRole(ISSUER_ROLE, dev_accounts.issuer.address), abi=abi)
    expect_revert(
        "AccessControlUnauthorizedAccount", lambda: _issue(fresh.voucher, anchored_evidence(fresh.registry, 1))
    )


def test_constructor_rejects_a_registry_without_code(w3: Web3, dev_accounts: DevAccounts) -> None:
    artifact = load_artifact("CompensationVoucher")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    sender = TransactionSender(w3, dev_accounts.deployer)
    not_a_contract = dev_accounts.anchorer.address
    with pytest.raises(ContractRevertError) as caught:
        sender.send(factory.constructor(not_a_contract, dev_accounts.deployer.address, 10_000),
                    abi=artifact["abi"])
    assert caught.value.error_name == "CompensationVoucherInvalidAddress"
    assert caught.value.error_args == (not_a_contract.lower(),)
