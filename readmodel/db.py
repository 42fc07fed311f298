"""Engine and session factory for the read model (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel, create_engine

# More connections than sessions held at once: the worker's 32 activity threads, and the API's
# requests, which it bounds below this (api/deps.py DB_SESSIONS) so a checkout never waits.
POOL_SIZE = 10
POOL_OVERFLOW = 40


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # type: ignore[no-untyped-def]
            # WAL (set once by init_db, kept in the file) lets the API read while the worker writes.
            cur = conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    return engine


def init_db(url: str) -> Engine:
    """Prepares the schema: Alembic migrations for a server database, create_all for the embedded
    SQLite file (one machine, nothing to upgrade in place)."""
    from readmodel import (  # noqa: F401  (registers the tables)
        alert_models,
        evaluation_models,
        governance_models,
        models,
        points_models,
        record_models,
        spot_check_models,
        veto_models,
    )

    engine = get_engine(url)
    if url.startswith("sqlite"):
        # Journal mode is a property of the file: set it here once, not on every new connection,
        # where it asks for a lock that a burst of new readers would queue on behind the writer.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        SQLModel.metadata.create_all(engine)
    else:
        from readmodel.migrate import upgrade_to_head

        upgrade_to_head(url)
    return engine


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    with Session(get_engine(url)) as session:
        yield session
