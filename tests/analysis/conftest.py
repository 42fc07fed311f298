"""A generated history shared by the analysis tests: 3,000 tickets, 600 failures, 240 typical cases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analysis.generator import GeneratedTicket, GeneratorConfig, PlantedTruth, generate
from analysis.root_cause import AnalysisParams, Cluster, FailureRow, find_problems
from cli.data import write_history, write_typical_cases
from domain.policy import CalendarModel
from tests.helpers import POLICY, tmp_db_url
from tests.own_env import own_env  # noqa: F401 - the twin's own server: earlier tests' leftovers stop time skipping

CONFIG = GeneratorConfig(tickets=3000, seed=7, start=date(2026, 1, 1), days=180)
CALENDAR = CalendarModel(timezone="Asia/Shanghai", holiday_region="CN").to_spec(range(2025, 2028))
RUN_KEY = "2026-07-01"


def failure_rows(tickets: list[GeneratedTicket]) -> list[FailureRow]:
    return [FailureRow(t.id, t.created_at, t.team, t.category, t.priority, t.step, t.root_cause, t.description)
            for t in tickets if t.failed]


@pytest.fixture(scope="session")
def history() -> tuple[list[GeneratedTicket], PlantedTruth]:
    return generate(CONFIG, CALENDAR)


@pytest.fixture(scope="session")
def problems(history: tuple[list[GeneratedTicket], PlantedTruth]) -> list[Cluster]:
    """The recurring problems found in the history (every ticket of each cluster kept)."""
    rows = failure_rows(history[0])
    from analysis.run import params_of

    params: AnalysisParams = params_of(POLICY.analysis)
    return find_problems(rows, params, max(r.created_at for r in rows))


@pytest.fixture(scope="session")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same history written through `qualitrail data generate`'s code into a read model."""
    tmp: Path = tmp_path_factory.mktemp("analysis")
    url = tmp_db_url(tmp)
    write_history(url, CONFIG)
    write_typical_cases(url, 240, 13)
    return url
