"""Idempotent deployment, the dev-key guard, and Anvil's state across a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

import contracts.anvil as anvil_mod
from chain.deployment import artifacts_code_hash, code_matches_artifact, deploy_contracts
from chain.keys import ANVIL_CHAIN_ID, DEV_PRIVATE_KEYS, check_key_allowed, is_dev_key
from chain.registry import EvidenceRegistryClient
from contracts.anvil import AnvilProcess, free_port, start_anvil
from domain.hashing import keccak256
from tests.contracts.helpers import DevAccounts, contract_at, deploy_with_dev_accounts, random32

ANCHOR_ROLE = keccak256(b"ANCHOR_ROLE")
ISSUER_ROLE = keccak256(b"ISSUER_ROLE")
REDEEMER_ROLE = keccak256(b"REDEEMER_ROLE")


def _has_roles(w3: Web3, registry: str, voucher: str, accounts: DevAccounts) -> bool:
    reg = contract_at(w3, "EvidenceRegistry", registry)
    vou = contract_at(w3, "CompensationVoucher", voucher)
    admin = b"\x00" * 32
    return bool(
        reg.functions.hasRole(ANCHOR_ROLE, accounts.anchorer.address).call()
        and vou.functions.hasRole(ISSUER_ROLE, accounts.issuer.address).call()
        and vou.functions.hasRole(REDEEMER_ROLE, accounts.redeemer.address).call()
        and reg.functions.hasRole(admin, accounts.deployer.address).call()
        and vou.functions.hasRole(admin, accounts.deployer.address).call()
    )


def test_second_deploy_reuses_the_record(w3: Web3, dev_accounts: DevAccounts, tmp_path: Path) -> None:
    first = deploy_with_dev_accounts(w3, dev_accounts, tmp_path)
    record = json.loads((tmp_path / f"{ANVIL_CHAIN_ID}.json").read_text())
    assert record["registry"] == first.registry and record["code_hash"] == artifacts_code_hash()
    assert _has_roles(w3, first.registry, first.voucher, dev_accounts)
    assert code_matches_artifact(w3, first.voucher, "CompensationVoucher")

    block = w3.eth.block_number
    second = deploy_with_dev_accounts(w3, dev_accounts, tmp_path)
    assert second == first
    assert w3.eth.block_number == block  # nothing was sent


def test_redeploys_when_the_record_is_stale(w3: Web3, dev_accounts: DevAccounts, tmp_path: Path) -> None:
    first = deploy_with_dev_accounts(w3, dev_accounts, tmp_path)
    path = tmp_path / f"{ANVIL_CHAIN_ID}.json"

    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "code_hash": "0" * 64}))
    second = deploy_with_dev_accounts(w3, dev_accounts, tmp_path)
    assert second.registry != first.registry

    # Addresses without our code (a reset chain, or another contract there) are not reused.
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "registry": first.voucher}))
    third = deploy_with_dev_accounts(w3, dev_accounts, tmp_path)
    assert third.registry not in (first.registry, second.registry)
    assert json.loads(path.read_text())["registry"] == third.registry


def test_missing_roles_are_granted_again(w3: Web3, dev_accounts: DevAccounts, tmp_path: Path) -> None:
    first = deploy_with_dev_accounts(w3, dev_accounts, tmp_path)
    other = Account.create()
    again = deploy_contracts(
        w3,
        dev_accounts.deployer,
        anchorer=other.address,
        issuer=dev_accounts.issuer.address,
        redeemer=dev_accounts.redeemer.address,
        record_dir=tmp_path,
    )
    assert again == first
    registry = contract_at(w3, "EvidenceRegistry", first.registry)
    assert registry.functions.hasRole(ANCHOR_ROLE, other.address).call()


def test_check_key_allowed() -> None:
    for key in DEV_PRIVATE_KEYS:
        check_key_allowed(ANVIL_CHAIN_ID, key)
        check_key_allowed(ANVIL_CHAIN_ID, key.removeprefix("0x").upper())
        with pytest.raises(ValueError, match="well-known Anvil dev key refused on chain id 1") as caught:
            check_key_allowed(1, key)
        assert key.removeprefix("0x") not in str(caught.value).lower()
    assert is_dev_key("0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6")  # account 9
    check_key_allowed(1, "0x" + Account.create().key.hex())


def test_dev_key_refused_on_another_chain(tmp_path: Path, dev_accounts: DevAccounts) -> None:
    with start_anvil(free_port(), chain_id=1337) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert w3.eth.chain_id == 1337
        with pytest.raises(ValueError, match="well-known Anvil dev key refused on chain id 1337"):
            deploy_with_dev_accounts(w3, dev_accounts, tmp_path)
        assert w3.eth.block_number == 0 and not list(tmp_path.iterdir())
        # Clients refuse too, before anything is signed.
        client = EvidenceRegistryClient(w3, "0x" + "11" * 20, dev_accounts.anchorer)
        with pytest.raises(ValueError, match="chain id 1337"):
            client.anchor(random32(), 1, random32())


def test_deployment_survives_a_graceful_anvil_restart(tmp_path: Path, dev_accounts: DevAccounts) -> None:
    state = tmp_path / "anvil-state.json"
    records = tmp_path / "deployments"
    port = free_port()
    with start_anvil(port, state_path=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        first = deploy_with_dev_accounts(w3, dev_accounts, records)
        root, batch_id = random32(), random32()
        EvidenceRegistryClient(w3, first.registry, dev_accounts.anchorer).anchor(root, 1, batch_id)
    assert state.exists()

    with start_anvil(port, state_path=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        block = w3.eth.block_number
        assert deploy_with_dev_accounts(w3, dev_accounts, records) == first
        assert w3.eth.block_number == block
        assert EvidenceRegistryClient(w3, first.registry).batch_root(batch_id) == root


def test_port_in_use_is_refused(anvil: AnvilProcess) -> None:
    with pytest.raises(RuntimeError, match="already in use"):
        start_anvil(anvil.port)
    assert anvil.is_running()


def test_missing_anvil_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(anvil_mod, "ANVIL_BIN", tmp_path / "nope" / "anvil")
    with pytest.raises(FileNotFoundError, match="make install"):
        start_anvil(free_port())
