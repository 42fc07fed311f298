"""Contract roles cannot be self-granted, and revoke/renounce hold, on both contracts.

tests/contracts already checks, per contract, that the operational role holders cannot grant roles
(test_roles_cannot_be_self_granted), that the admin grants and revokes, and the registry's renounce
confirmation. This adds what those leave open, for both contracts from one table: an account that
holds no role at all, revoking by non-admins, renouncing on another's behalf, and that once the
admin role is renounced nobody (its former holder included) can grant again. Real Anvil, real
compiled contracts, the fixtures of tests/contracts (see tests/security/conftest.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.sender import TransactionSender
from domain.hashing import keccak256
from tests.contracts.helpers import Clients, DevAccounts, expect_revert

DEFAULT_ADMIN_ROLE = b"\x00" * 32
# Each contract's operational roles and which dev account holds each (see deploy_with_dev_accounts).
CONTRACT_ROLES = {"registry": {"ANCHOR_ROLE": "anchorer"},
                  "voucher": {"ISSUER_ROLE": "issuer", "REDEEMER_ROLE": "redeemer"}}


def _contract(fresh: Clients, name: str) -> tuple[Any, Any]:
    client = fresh.registry if name == "registry" else fresh.voucher
    return client.contract.functions, client.abi


@pytest.fixture
def outsider(w3: Web3) -> LocalAccount:
    """A funded account that holds no role on any contract."""
    account: LocalAccount = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**18)])  # type: ignore[arg-type]
    return account


def _all_roles(name: str) -> list[bytes]:
    return [DEFAULT_ADMIN_ROLE, *(keccak256(r.encode()) for r in CONTRACT_ROLES[name])]


@pytest.mark.parametrize("name", sorted(CONTRACT_ROLES))
def test_an_account_without_roles_cannot_grant_any_role(w3: Web3, fresh: Clients, dev_accounts: DevAccounts,
                                                        outsider: LocalAccount, name: str) -> None:
    functions, abi = _contract(fresh, name)
    sender = TransactionSender(w3, outsider)
    for role in _all_roles(name):
        for beneficiary in (outsider.address, dev_accounts.redeemer.address):  # itself, and another
            error = expect_revert("AccessControlUnauthorizedAccount",
                                  partial(sender.send, functions.grantRole(role, beneficiary), abi=abi))
            assert error.error_args == (outsider.address.lower(), DEFAULT_ADMIN_ROLE)
        assert not functions.hasRole(role, outsider.address).call()


@pytest.mark.parametrize("name", sorted(CONTRACT_ROLES))
def test_only_the_admin_revokes(w3: Web3, fresh: Clients, dev_accounts: DevAccounts, outsider: LocalAccount,
                                name: str) -> None:
    functions, abi = _contract(fresh, name)
    holders = {keccak256(r.encode()): getattr(dev_accounts, who) for r, who in CONTRACT_ROLES[name].items()}
    targets = [(DEFAULT_ADMIN_ROLE, dev_accounts.deployer), *holders.items()]
    # Neither an outsider nor an operational role holder can take a role away from anyone.
    for sender_account in (outsider, *holders.values()):
        sender = TransactionSender(w3, sender_account)
        for role, holder in targets:
            expect_revert("AccessControlUnauthorizedAccount",
                          partial(sender.send, functions.revokeRole(role, holder.address), abi=abi))
            assert functions.hasRole(role, holder.address).call()


@pytest.mark.parametrize("name", sorted(CONTRACT_ROLES))
def test_renounce_is_only_for_oneself(w3: Web3, fresh: Clients, dev_accounts: DevAccounts, name: str) -> None:
    functions, abi = _contract(fresh, name)
    role_name, who = next(iter(CONTRACT_ROLES[name].items()))
    role, holder = keccak256(role_name.encode()), getattr(dev_accounts, who)
    admin = TransactionSender(w3, dev_accounts.deployer)
    # Not even the admin can renounce on a holder's behalf (that is what revoke is for).
    expect_revert("AccessControlBadConfirmation",
                  partial(admin.send, functions.renounceRole(role, holder.address), abi=abi))
    assert functions.hasRole(role, holder.address).call()
    TransactionSender(w3, holder).send(functions.renounceRole(role, holder.address), abi=abi)
    assert not functions.hasRole(role, holder.address).call()
    # Renounced means gone: the former holder cannot grant it back to itself.
    expect_revert("AccessControlUnauthorizedAccount",
                  partial(TransactionSender(w3, holder).send, functions.grantRole(role, holder.address), abi=abi))


@pytest.mark.parametrize("name", sorted(CONTRACT_ROLES))
def test_a_renounced_admin_role_is_gone_for_good(w3: Web3, fresh: Clients, dev_accounts: DevAccounts,
                                                 name: str) -> None:
    functions, abi = _contract(fresh, name)
    admin = TransactionSender(w3, dev_accounts.deployer)
    role = keccak256(next(iter(CONTRACT_ROLES[name])).encode())
    admin.send(functions.renounceRole(DEFAULT_ADMIN_ROLE, dev_accounts.deployer.address), abi=abi)
    assert not functions.hasRole(DEFAULT_ADMIN_ROLE, dev_accounts.deployer.address).call()
    for call in (functions.grantRole(DEFAULT_ADMIN_ROLE, dev_accounts.deployer.address),
                 functions.grantRole(role, dev_accounts.redeemer.address),
                 functions.revokeRole(role, dev_accounts.anchorer.address)):
        expect_revert("AccessControlUnauthorizedAccount", partial(admin.send, call, abi=abi))


@pytest.mark.parametrize("name", sorted(CONTRACT_ROLES))
def test_a_handed_over_admin_role_leaves_the_old_admin_powerless(w3: Web3, fresh: Clients,
                                                                 dev_accounts: DevAccounts, outsider: LocalAccount,
                                                                 name: str) -> None:
    functions, abi = _contract(fresh, name)
    old, new = TransactionSender(w3, dev_accounts.deployer), TransactionSender(w3, outsider)
    old.send(functions.grantRole(DEFAULT_ADMIN_ROLE, outsider.address), abi=abi)
    new.send(functions.revokeRole(DEFAULT_ADMIN_ROLE, dev_accounts.deployer.address), abi=abi)
    role = keccak256(next(iter(CONTRACT_ROLES[name])).encode())
    expect_revert("AccessControlUnauthorizedAccount",
                  partial(old.send, functions.grantRole(role, dev_accounts.deployer.address), abi=abi))
    expect_revert("AccessControlUnauthorizedAccount",
                  partial(old.send, functions.grantRole(DEFAULT_ADMIN_ROLE, dev_accounts.deployer.address), abi=abi))
    new.send(functions.grantRole(role, dev_accounts.redeemer.address), abi=abi)
    assert functions.hasRole(role, dev_accounts.redeemer.address).call()
