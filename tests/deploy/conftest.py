"""A real PostgreSQL 16 for the deployment tests, from the PyPI package `pgserver`.

Started once per session in a temporary folder (about a second) and stopped at the end; each test
gets its own empty database so tests never see each other's rows or schema.

In this folder ``stack`` (and so ``api``) is the local stack with the worker and the API on that
PostgreSQL instead of SQLite, so API tests imported here run against PostgreSQL.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cli.stack import Stack, StackConfig


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    # Not under pytest's tmp dir: that is private to its user (0700), and pgserver run as root
    # starts PostgreSQL as its own unprivileged user, which must reach the data folder.
    folder = Path(tempfile.mkdtemp(prefix="qt-deploy-pg-"))
    folder.chmod(0o755)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI containers); harmless here.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(folder / "data", cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _create_database(server: object) -> str:
    name = f"qt_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name};")  # type: ignore[attr-defined]
    uri: str = server.get_uri(name)  # type: ignore[attr-defined]
    # pgserver answers postgresql://…; SQLAlchemy's bare scheme means psycopg2, which we do not ship.
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def stack(pg_server: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Overrides the root ``stack``: the same processes, with QT_DATABASE_URL on PostgreSQL."""
    config = StackConfig.ephemeral(tmp_path_factory.mktemp("pg-stack"),
                                   extra_env={"QT_DATABASE_URL": _create_database(pg_server)})
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[httpx.Client]:
    # Redefined, not inherited: the root `api` is cached per session and may already point at the
    # SQLite stack when tests/api ran first in the same session.
    with httpx.Client(base_url=stack.config.api_url, timeout=60) as client:
        yield client


@pytest.fixture
def new_pg_url(pg_server: object) -> Callable[[], str]:
    """Creates an empty database and returns its SQLAlchemy URL (psycopg 3 driver)."""

    return lambda: _create_database(pg_server)
