"""Engine and session factory for the read model (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, SQLModel, create_engine

# More connections than sessions held at once: the worker's 32 activity threads, and the API's
# requests, which it bounds below this (api/deps.py DB_SESSIONS) so a checkout never waits.
POOL_SIZE = 10
POOL_OVERFLOW = 40


class _SQLiteHintCompiler(SQLiteCompiler):
    """SQLite's compiler, plus the table hints of ``Select.with_hint(..., "sqlite")``.

    SQLAlchemy's SQLite dialect drops them; the read model uses them for ``INDEXED BY``, where a
    query must read one index whether or not the file has the planner's statistics (readmodel/board.py).
    """

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
        engine.dialect.statement_compiler = _SQLiteHintCompiler

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
    SQLite file (one machine, nothing to upgrade in place). Also completes the ORM's set-up, so the
    worker's start-up (which calls this first) leaves nothing for an activity to configure."""
    from readmodel import (  # noqa: F401  (registers the tables)
        account_models,
        alert_models,
        analysis_models,
        evaluation_models,
        feedback_models,
        governance_models,
        models,
        points_models,
        record_models,
        report_models,
        spot_check_models,
        staffing_models,
        veto_models,
    )

    # SQLAlchemy configures mappers lazily, on a process's first query: in a worker that is inside
    # an activity, where Temporal's cancellation (an exception raised into the activity's thread)
    # could land mid-configuration and mark a mapper failed for the life of the process.
    configure_mappers()

    engine = get_engine(url)
    if url.startswith("sqlite"):
        # Journal mode is a property of the file: set it here once, not on every new connection,
        # where it asks for a lock that a burst of new readers would queue on behind the writer.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        SQLModel.metadata.create_all(engine)
        _add_missing_columns(engine)
        _add_missing_indexes(engine)
    else:
        from readmodel.migrate import upgrade_to_head

        upgrade_to_head(url)
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Add columns that newer models have to an older SQLite file (create_all only adds tables).

    Only columns with a server default or NULL allowed can be added in place; the default is what
    rows written before the column existed mean (e.g. ``anchorbatch.format`` = 1).
    """
    from sqlalchemy import inspect

    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                default = column.server_default
                if not column.nullable and default is None:
                    raise RuntimeError(f"{table.name}.{column.name} cannot be added to an existing SQLite file")
                ddl = f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {column.type.compile(engine.dialect)}'
                if default is not None:
                    ddl += f" NOT NULL DEFAULT {default.arg}"  # type: ignore[attr-defined]
                conn.exec_driver_sql(ddl)


def _add_missing_indexes(engine: Engine) -> None:
    """Add indexes that newer models have to an older SQLite file (create_all skips existing tables)."""
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn, checkfirst=True)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session of the read model at ``url``, closed (and rolled back if not committed) at the end.

    An exception raised into the thread while a statement runs (Temporal cancels a synchronous
    activity that way) comes out as itself, not wrapped in SQLAlchemy's ``StatementError``, so a
    cancelled activity is reported as cancelled rather than failed.
    """
    with Session(get_engine(url)) as session:
        try:
            yield session
        except StatementError as exc:
            if exc.orig is not None and not isinstance(exc.orig, DBAPIError):
                raise exc.orig from exc
            raise


def ping(url: str) -> None:
    """One round trip to the read model (readiness); raises if it cannot answer."""
    with session_scope(url) as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
