"""One planted month, published once through the activity, served by a real uvicorn API for the whole directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.report import ReportActivities
from domain.report import ReportMonthInput, ReportPublished
from settings import ROOT, Settings
from tests.helpers import serve_api_with, tmp_db_url
from tests.own_env import own_env  # noqa: F401 - a time-skipping server per test
from tests.report.planted import MONTH, plant

POLICY = ROOT / "config" / "policy.toml"


@dataclass
class Published:
    db_url: str
    tmp: Path
    result: ReportPublished


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    tmp = tmp_path_factory.mktemp("report")
    db_url = tmp_db_url(tmp)
    plant(db_url)
    result = ActivityEnvironment().run(ReportActivities(db_url, POLICY).publish_quality_report, ReportMonthInput(MONTH))
    return Published(db_url, tmp, result)


@pytest.fixture(scope="session")
def api(published: Published) -> Iterator[httpx.Client]:
    settings = Settings(database_url=published.db_url, var_dir=published.tmp,  # type: ignore[call-arg]
                        api_keys="k-quality:quality")  # type: ignore[arg-type]
    with serve_api_with(settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client
