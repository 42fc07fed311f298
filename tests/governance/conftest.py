from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.governance.board import Board
from tests.own_env import own_env  # noqa: F401 - tests that start meetings through the API get a server each


@pytest.fixture
async def board(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Board]:
    b = Board(time_env, tmp_path)
    yield b
    await b.close()
