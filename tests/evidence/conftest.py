"""Fixtures of the evidence tests: a real Anvil per session (the dev server, `local_env`, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts.anvil import AnvilProcess, free_port, start_anvil


@pytest.fixture(scope="session")
def evidence_anvil() -> Iterator[AnvilProcess]:
    """One Anvil (chain id 31337) for the tests that do not restart it; each test deploys its own."""
    node = start_anvil(free_port())
    try:
        yield node
    finally:
        node.stop()
