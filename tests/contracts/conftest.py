"""Fixtures for contract tests: one Anvil per session, contracts deployed with the dev keys.

Dev accounts: 0 deployer/admin, 1 anchorer, 2 issuer, 3 redeemer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from chain.deployment import Deployment
from chain.keys import DEV_PRIVATE_KEYS
from chain.registry import EvidenceRegistryClient
from chain.voucher import VoucherClient
from contracts.anvil import AnvilProcess, free_port, start_anvil
from tests.contracts.helpers import Clients, DevAccounts, deploy_with_dev_accounts


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilProcess]:
    node = start_anvil(free_port())
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def w3(anvil: AnvilProcess) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.url))


@pytest.fixture(scope="session")
def dev_accounts() -> DevAccounts:
    return DevAccounts(*(Account.from_key(k) for k in DEV_PRIVATE_KEYS))


def _clients(w3: Web3, accounts: DevAccounts, deployment: Deployment) -> Clients:
    return Clients(
        deployment=deployment,
        registry=EvidenceRegistryClient(w3, deployment.registry, accounts.anchorer),
        voucher=VoucherClient(w3, deployment.voucher, accounts.issuer),
        redeemer=VoucherClient(w3, deployment.voucher, accounts.redeemer),
        admin_registry=EvidenceRegistryClient(w3, deployment.registry, accounts.deployer),
        admin_voucher=VoucherClient(w3, deployment.voucher, accounts.deployer),
    )


@pytest.fixture(scope="session")
def deployed(w3: Web3, dev_accounts: DevAccounts, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """Contracts shared by the whole session: tests must not pause them or change roles."""
    return deploy_with_dev_accounts(w3, dev_accounts, tmp_path_factory.mktemp("deployments"))


@pytest.fixture(scope="session")
def clients(w3: Web3, dev_accounts: DevAccounts, deployed: Deployment) -> Clients:
    return _clients(w3, dev_accounts, deployed)


@pytest.fixture
def fresh(w3: Web3, dev_accounts: DevAccounts, tmp_path: Path) -> Clients:
    """A new pair of contracts for one test, free to pause or change roles."""
    return _clients(w3, dev_accounts, deploy_with_dev_accounts(w3, dev_accounts, tmp_path))
