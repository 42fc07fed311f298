"""Fixtures for certificate tests: one Anvil and one anchored record for the whole session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.anvil import AnvilProcess, free_port, start_anvil
from settings import ROOT
from tests.certificates.shared_chain import ENV, SharedChain, claim
from tests.certificates.world import World, build_world, copy_world


@pytest.fixture(scope="session")
def shared_chain() -> Iterator[SharedChain | None]:
    """A node prepared before the session, with ``QT_CERT_CHAINS`` (``make mutate``); else None."""
    root = os.environ.get(ENV)
    if not root:
        yield None
        return
    with claim(Path(root)) as chain:
        yield chain


@dataclass(frozen=True)
class _Node:
    url: str


@pytest.fixture(scope="session")
def cert_anvil(shared_chain: SharedChain | None) -> Iterator[AnvilProcess | _Node]:
    if shared_chain is not None:
        yield _Node(shared_chain.url)
        return
    node = start_anvil(free_port())
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def world(cert_anvil: AnvilProcess, shared_chain: SharedChain | None,
          tmp_path_factory: pytest.TempPathFactory) -> World:
    if shared_chain is not None:
        # Its own copy of the database, as a fresh world has: some tests write to it.
        return copy_world(shared_chain.world, tmp_path_factory.mktemp("certificates"))
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

