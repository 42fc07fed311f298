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
