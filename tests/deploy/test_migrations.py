"""The Alembic revisions build exactly the schema the SQLModel classes describe, on both engines."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, create_engine, inspect, pool
from sqlmodel import SQLModel

import readmodel.account_models  # noqa: F401
import readmodel.alert_models  # noqa: F401
import readmodel.analysis_models  # noqa: F401
import readmodel.evaluation_models  # noqa: F401
import readmodel.feedback_models  # noqa: F401
import readmodel.models  # noqa: F401 - registers the tables the migrations must match
import readmodel.points_models  # noqa: F401
import readmodel.record_models  # noqa: F401
import readmodel.report_models  # noqa: F401
import readmodel.spot_check_models  # noqa: F401
import readmodel.veto_models  # noqa: F401
from readmodel.migrate import alembic_config, current_revision, head_revision, upgrade_to_head

try:  # a colleague's tables, when they exist, must be migrated too
    import readmodel.governance_models  # noqa: F401
except ModuleNotFoundError as exc:
    if exc.name != "readmodel.governance_models":
        raise

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_TABLES = {"ticket", "milestone", "anchorbatch", "voucher"}


def _diff(url: str, metadata: MetaData = SQLModel.metadata) -> list[object]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    new_pg_url: Callable[[], str] = request.getfixturevalue("new_pg_url")
    return new_pg_url()


def test_there_is_exactly_one_head() -> None:
    assert head_revision() is not None


def test_upgrade_empty_database_to_head_matches_models(empty_db: str) -> None:
    assert current_revision(empty_db) is None
    upgrade_to_head(empty_db)
    assert current_revision(empty_db) == head_revision()
    assert EXPECTED_TABLES <= _tables(empty_db)
    # Autogenerate against the migrated schema: anything listed is a model change without a revision.
    assert _diff(empty_db) == []


def test_upgrade_twice_is_a_no_op(empty_db: str) -> None:
    upgrade_to_head(empty_db)
    upgrade_to_head(empty_db)  # API and worker both run it at every start
    assert current_revision(empty_db) == head_revision()


def test_drift_check_sees_a_model_change_without_revision(tmp_path: Path) -> None:
    # Guards the guard: an empty diff above must mean "no drift", not "nothing compared".
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    upgrade_to_head(url)
    changed = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["ticket"].append_column(Column("added_later", Integer, nullable=True))
    diff = _diff(url, changed)
    assert [d[0] for d in diff if isinstance(d, tuple)] == ["add_column"]


def test_downgrade_to_base_then_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade_to_head(url)
    command.downgrade(alembic_config(url), "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade_to_head(url)
    assert _diff(url) == []


def test_processes_starting_together_migrate_once(new_pg_url: Callable[[], str]) -> None:
    # The API and the worker start at the same time and both migrate: the advisory lock must make
    # one wait for the other instead of both creating the same tables.
    url = new_pg_url()
    code = "import sys; from readmodel.migrate import upgrade_to_head; upgrade_to_head(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert current_revision(url) == head_revision()
    assert _diff(url) == []


def test_init_db_migrates_postgresql_instead_of_create_all(new_pg_url: Callable[[], str]) -> None:
    from readmodel.db import get_engine, init_db

    url = new_pg_url()
    init_db(url)
    get_engine(url).dispose()
    # create_all leaves no alembic_version row; a migrated database is at head.
    assert current_revision(url) == head_revision()


def test_batches_anchored_before_formats_read_as_format_1(tmp_path: Path) -> None:
    # A database (PostgreSQL through the revision, an embedded SQLite file through init_db) that holds
    # batches from before batch formats existed: they are format 1, raw milestone leaves.
    from sqlalchemy import text

    from readmodel.db import get_engine, init_db

    for name, bring_up in (("migrated", upgrade_to_head), ("embedded", init_db)):
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        command.upgrade(alembic_config(url), "217899f9b33f")  # the schema before batch formats
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO anchorbatch (batch_no, batch_id, root, leaf_count, status, created_at, "
                              "reanchor_count) VALUES (1, '0x01', '0x02', 3, 'anchored', '2026-11-25', 0)"))
        bring_up(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT format FROM anchorbatch")).scalar_one() == 1, name
        engine.dispose()
        get_engine(url).dispose()
