"""`qualitrail data generate` writes the seeded history and the typical cases into the read model."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from readmodel import analysis as store
from readmodel import cases as case_store
from readmodel.db import session_scope
from tests.helpers import tmp_db_url


def test_generate_writes_history_and_cases(tmp_path: Path) -> None:
    url = tmp_db_url(tmp_path)
    result = CliRunner().invoke(app, ["data", "generate", "--tickets", "500", "--days", "30", "--cases", "220",
                                      "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "500 tickets (100 failures) and 220 typical cases" in result.output
    assert "reopen rate 6.00 %, repeat rate 8.00 %" in result.output
    with session_scope(url) as session:
        assert store.ticket_count(session) == 500
        assert len(case_store.all_cases(session)) == 220
    again = CliRunner().invoke(app, ["data", "generate", "--start", "2026-13-01", "--database-url", url])
    assert again.exit_code != 0 and "--start" in again.output
