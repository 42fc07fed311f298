from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.governance.board import Board


@pytest.fixture
async def board(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Board]:
    b = Board(time_env, tmp_path)
    yield b
    await b.close()
