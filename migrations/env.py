"""Alembic environment for the read model: one URL (from settings), one metadata (SQLModel's).

Called two ways: by the `alembic` command line (URL from settings, logging from alembic.ini) and by
`readmodel.migrate.upgrade_to_head(url)` at API/worker start (URL passed in ``config.attributes``,
the application's logging left alone).
"""

from __future__ import annotations

import importlib.util
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool, text
from sqlmodel import SQLModel, create_engine

import readmodel.alert_models  # noqa: F401
import readmodel.analysis_models  # noqa: F401
import readmodel.evaluation_models  # noqa: F401
import readmodel.models  # noqa: F401 - registers the read-model tables on SQLModel.metadata
import readmodel.points_models  # noqa: F401
import readmodel.record_models  # noqa: F401
import readmodel.report_models  # noqa: F401
import readmodel.spot_check_models  # noqa: F401
import readmodel.staffing_models  # noqa: F401
import readmodel.veto_models  # noqa: F401

# A colleague's module; imported when present so autogenerate and the drift test see its tables.
if importlib.util.find_spec("readmodel.governance_models") is not None:
    import readmodel.governance_models  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata

# Any fixed number works; it only has to be the same in every process that migrates this database.
MIGRATION_LOCK_ID = 7_510_771_001


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    from settings import get_settings

    return get_settings().db_url


if config.config_file_name is not None and "database_url" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"}, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _configure(connectable)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # The API and the worker both migrate at start. The lock makes the second wait,
                    # then read the version the first one committed (DDL is transactional here).
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
