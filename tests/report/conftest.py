"""One planted month, published once through the activity, served by a real uvicorn API for the whole directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.report import ReportActivities
from contracts.anvil import free_port, start_anvil
from domain.report import ReportMonthInput, ReportPublished
from settings import ROOT, Settings
from tests.certificates.world import World, anchor_pending, build_world
from tests.helpers import serve_api_with, tmp_db_url
from tests.own_env import own_env  # noqa: F401 - a time-skipping server per test: none leaks into the shared one
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


@dataclass
class Anchored:
    world: World
    url: str
    export: Path


@pytest.fixture(scope="session")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anchored]:
    tmp = tmp_path_factory.mktemp("report-chain")
    node = start_anvil(free_port())
    try:
        world = build_world(tmp, node.url)
        plant(world.db_url)
        ActivityEnvironment().run(ReportActivities(world.db_url, POLICY).publish_quality_report,
                                  ReportMonthInput(MONTH))
        anchor_pending(world)
        settings = Settings(database_url=world.db_url, var_dir=world.var_dir)  # type: ignore[call-arg]
        with serve_api_with(settings) as url:
            answer = httpx.get(f"{url}/reports/{MONTH}/export.json", timeout=60)
            assert answer.status_code == 200, answer.text
            export = tmp / "export.json"
            export.write_bytes(answer.content)
            yield Anchored(world, url, export)
    finally:
        node.stop()
