"""Fixtures for certificate tests: one Anvil and one anchored record for the whole session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from chain.deployment import LEGACY_ARTIFACTS
from chain.keys import DEV_PRIVATE_KEYS
from chain.sender import TransactionSender
from contracts.anvil import AnvilProcess, free_port, start_anvil
from contracts.compile import load_artifact
from settings import ROOT
from tests.certificates.world import World, build_world


@pytest.fixture(scope="session")
def cert_anvil() -> Iterator[AnvilProcess]:
    node = start_anvil(free_port())
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def world(cert_anvil: AnvilProcess, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("certificates"), cert_anvil.url)


AuditRunner = Callable[..., subprocess.CompletedProcess[str]]


def _run_audit(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the auditor tool as a real process, the way an auditor runs it."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    return subprocess.run([sys.executable, "-m", "cli.audit", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def run_audit() -> AuditRunner:
    return _run_audit


@pytest.fixture
def auditor_key(tmp_path: Path) -> Path:
    return tmp_path / "auditor.key"


def deploy_legacy(w3: Web3, name: str, *args: Any) -> str:
    """Deploy a contract of the release before batch format 2 and grant its role to the dev account."""
    artifact = load_artifact(LEGACY_ARTIFACTS[name])
    sender = TransactionSender(w3, Account.from_key(DEV_PRIVATE_KEYS[0]))
    receipt = sender.send(w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]).constructor(*args),
                          abi=artifact["abi"])
    assert receipt["contractAddress"] is not None
    address = Web3.to_checksum_address(receipt["contractAddress"])
    contract = w3.eth.contract(address=address, abi=artifact["abi"])
    role, holder = ("ANCHOR_ROLE", 1) if name == "EvidenceRegistry" else ("ISSUER_ROLE", 2)
    grantee = Account.from_key(DEV_PRIVATE_KEYS[holder]).address
    sender.send(contract.functions.grantRole(getattr(contract.functions, role)().call(), grantee),
                abi=artifact["abi"])
    return address
