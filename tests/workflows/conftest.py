from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflows.desk import Desk


@pytest.fixture
async def desk(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    d = Desk(time_env, tmp_path)
    yield d
    await d.close()


@pytest.fixture
async def live_desk(local_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    """A desk on the real dev server, for what the time-skipping server does not do (Updates that
    wait for a worker)."""
    d = Desk(local_env, tmp_path)
    yield d
    await d.close()
