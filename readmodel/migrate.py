"""Brings a read-model database to the newest Alembic revision (used for every non-SQLite URL).

The embedded SQLite default keeps ``create_all`` (one process pair on one machine, nothing to
upgrade in place); PostgreSQL is only ever changed by the revisions under ``migrations/``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

# The repository root (the Docker image keeps the source tree, migrations included, in /app).
ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "alembic.ini"
MIGRATIONS = ROOT / "migrations"

# Alembic's `context`/`op` are module-level proxies: two threads migrating at once clobber each other.
# Across processes (API + worker) the PostgreSQL advisory lock in migrations/env.py serialises them.
_LOCK = threading.Lock()


def alembic_config(url: str) -> Config:
    """An Alembic config that migrates ``url``, whatever QT_DATABASE_URL says."""
    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not as sqlalchemy.url: ini interpolation would choke on '%' in passwords.
    cfg.attributes["database_url"] = url
    return cfg


def upgrade_to_head(url: str) -> None:
    """Applies every revision not yet applied; safe to call from several processes at once."""
    with _LOCK:
        command.upgrade(alembic_config(url), "head")


def current_revision(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()
