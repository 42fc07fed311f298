"""A time-skipping server of a test's own.

Tests that start workflows with signal-with-start leave the shared server (``time_env``) unable to
skip time for the tests after them (their sleeps time out), though every workflow they started has
ended or was terminated; with a server each, nothing leaks.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment


@pytest.fixture
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    yield env
    await env.shutdown()
