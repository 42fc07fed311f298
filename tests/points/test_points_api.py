"""The points routes over real HTTP (uvicorn, a SQLite read model with a closed month)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.points import PointsActivities
from domain.points import PointsMonthInput
from readmodel.db import init_db
from settings import Settings
from tests.helpers import serve_api_with, tmp_db_url
from tests.points.test_points_month import POLICY, plant_month

QUALITY = {"X-API-Key": "k-quality"}
AGENT = {"X-API-Key": "k-agent"}  # a shared desk key: names no person
LI_WEI = {"X-API-Key": "k-li"}  # bound to the agent li.wei


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp: Path = tmp_path_factory.mktemp("points-api")
    db_url = tmp_db_url(tmp)
    init_db(db_url)
    plant_month(db_url)
    ActivityEnvironment().run(PointsActivities(db_url, POLICY).close_points_month, PointsMonthInput("2026-11"))
    settings = Settings(database_url=db_url, var_dir=tmp,  # type: ignore[call-arg]
                        api_keys="k-quality:quality,k-agent:agent,k-li:agent:li.wei")  # type: ignore[arg-type]
    with serve_api_with(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_month_ranking_and_one_agents_entries(api: httpx.Client) -> None:
    month = api.get("/points/2026-11", headers=QUALITY)
    assert month.status_code == 200
    body = month.json()
    assert body["entry_count"] == 12 and body["ledger_root"].startswith("0x") and body["count"] == 3
    assert [(r["agent"], r["total"], r["rank"], r["flagged"]) for r in body["data"]] == [
        ("li.wei", 14, 1, True), ("chen.jie", 2, 2, False), ("zhang.min", 1, 3, False)]
    page = api.get("/points/2026-11", params={"offset": 1, "limit": 1}, headers=QUALITY).json()
    assert [r["agent"] for r in page["data"]] == ["chen.jie"]

    mine = api.get("/points/2026-11/agents/zhang.min", headers=QUALITY).json()
    assert (mine["total"], mine["rank"], mine["flagged"]) == (1, 3, False)
    assert sorted((e["rule"], e["points"]) for e in mine["entries"]) == [
        ("rating:5", 4), ("sla_breached:first_response", -5), ("sla_met:resolution", 2)]
    nobody = api.get("/points/2026-11/agents/new.hire", headers=QUALITY).json()
    assert (nobody["total"], nobody["rank"], nobody["entries"]) == (0, None, [])


def test_points_routes_refuse_what_they_must(api: httpx.Client) -> None:
    assert api.get("/points/2026-11").status_code == 401
    assert api.get("/points/2026-11", headers=AGENT).status_code == 403
    open_month = api.get("/points/2026-12", headers=QUALITY)
    assert open_month.status_code == 404 and "2026-12" in open_month.json()["detail"]
    for path, loc in (("/points/2026-13", ["path", "month"]), ("/points/11-2026", ["path", "month"]),
                      ("/points/2026-11/agents/bad%20name", ["path", "agent"])):
        r = api.get(path, headers=QUALITY)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, path
    assert api.get("/points/2026-11", params={"limit": 500}, headers=QUALITY).status_code == 422


def test_an_agent_sees_their_own_points_and_nobody_elses(api: httpx.Client) -> None:
    own = api.get("/points/2026-11/agents/li.wei", headers=LI_WEI)
    assert own.status_code == 200
    assert (own.json()["total"], own.json()["rank"], own.json()["flagged"]) == (14, 1, True)
    for other in ("chen.jie", "zhang.min", "new.hire"):
        r = api.get(f"/points/2026-11/agents/{other}", headers=LI_WEI)
        assert r.status_code == 403 and "own points" in r.json()["detail"], other
    assert api.get("/points/2026-11", headers=LI_WEI).status_code == 403  # the ranking is the quality side's
    shared = api.get("/points/2026-11/agents/li.wei", headers=AGENT)
    assert shared.status_code == 403 and "names no person" in shared.json()["detail"]
