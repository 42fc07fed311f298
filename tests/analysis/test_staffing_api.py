"""The staffing routes over real HTTP (rule 7): a team head records their team's roster, the plan
shows per day and team the forecast, the agents needed, the roster and the gap, the forecast shows
each series' backtest against seasonal naive; hostile input gets a 4xx naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.staffing import StaffingActivities
from analysis.generator import GeneratorConfig
from cli.data import write_history
from domain.staffing import StaffingRequest
from settings import ROOT, Settings
from tests.helpers import serve_api_with, tmp_db_url

HISTORY = GeneratorConfig(tickets=1200, seed=5, start=date(2026, 1, 1), days=100, prefix="STA")
RUN_KEY = "2026-04-11"  # the day after the history
KEYS = ("k-quality:quality,k-agent:agent,k-as-head:team_head:after-sales-head,k-bl-head:team_head:billing-head,"
        "k-desk-head:team_head")
QUALITY, AGENT = {"X-API-Key": "k-quality"}, {"X-API-Key": "k-agent"}
AS_HEAD, BL_HEAD, DESK_HEAD = {"X-API-Key": "k-as-head"}, {"X-API-Key": "k-bl-head"}, {"X-API-Key": "k-desk-head"}


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        url = tmp_db_url(Path(tmp))
        write_history(url, HISTORY)
        ActivityEnvironment().run(StaffingActivities(url, ROOT / "config" / "policy.toml").plan_staffing,
                                  StaffingRequest(RUN_KEY))
        settings = Settings(database_url=url, api_keys=KEYS)  # type: ignore[call-arg, arg-type]
        with serve_api_with(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
            yield client


def _field(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [str(e["loc"][-1]) for e in response.json()["detail"]]


def test_a_team_head_records_the_roster_and_the_plan_shows_the_gap(api: httpx.Client) -> None:
    roster = [{"day": "2026-04-13", "agents": 1}, {"day": "2026-04-14", "agents": 400}]
    put = api.put("/staffing/roster/after-sales", json=roster, headers=AS_HEAD)
    assert put.status_code == 200, put.text
    assert put.json() == {"team": "after-sales", "created": 2, "data": roster}
    again = api.put("/staffing/roster/after-sales", json=[{"day": "2026-04-13", "agents": 0}], headers=QUALITY)
    assert again.json()["created"] == 0  # replaced, not added
    got = api.get("/staffing/roster/after-sales", params={"from": "2026-04-01", "to": "2026-04-30"}, headers=AGENT)
    assert got.json()["data"] == [{"day": "2026-04-13", "agents": 0}, {"day": "2026-04-14", "agents": 400}]

    plan = api.get("/staffing/plan", params={"team": "after-sales", "from": "2026-04-13", "to": "2026-04-15"},
                   headers=AS_HEAD).json()
    assert plan["run_key"] == RUN_KEY
    short, covered, unrecorded = plan["data"]
    assert [d["day"] for d in plan["data"]] == ["2026-04-13", "2026-04-14", "2026-04-15"]
    assert all(d["team"] == "after-sales" and d["forecast_volume"] > 0 for d in plan["data"])
    assert short["rostered"] == 0 and short["short_by"] == short["agents_needed"] > 0
    assert covered["rostered"] == 400 and covered["short_by"] == 0
    assert unrecorded["rostered"] is None and unrecorded["short_by"] == 0
    whole = api.get("/staffing/plan", headers=QUALITY).json()["data"]
    assert len(whole) == 3 * 30 and {d["team"] for d in whole} == {"after-sales", "billing", "logistics"}


def test_the_forecast_reports_each_series_backtest(api: httpx.Client) -> None:
    body = api.get("/staffing/forecast", headers=QUALITY).json()
    assert body["run_key"] == RUN_KEY and body["tickets"] == 1200
    assert (body["history_from"], body["history_to"]) == ("2026-01-01", "2026-04-10")
    main = [s for s in body["series"] if s["history_tickets"] >= 100]
    assert main, body["series"]
    for s in main:
        assert s["mase"] > 0 and s["naive_mase"] > 0
        assert s["mase_ratio"] == pytest.approx(s["mase"] / s["naive_mase"], abs=1e-3)
    assert sum(s["history_tickets"] for s in body["series"]) == 1200


def test_only_the_teams_head_quality_or_admin_record_a_roster(api: httpx.Client) -> None:
    entry = [{"day": "2026-04-20", "agents": 3}]
    assert api.put("/staffing/roster/after-sales", json=entry, headers=BL_HEAD).status_code == 403
    assert api.put("/staffing/roster/after-sales", json=entry, headers=DESK_HEAD).status_code == 403
    assert api.put("/staffing/roster/after-sales", json=entry, headers=AGENT).status_code == 403
    assert api.put("/staffing/roster/after-sales", json=entry).status_code == 401
    assert api.put("/staffing/roster/billing", json=entry, headers=BL_HEAD).status_code == 200


def test_hostile_input_gets_a_4xx_naming_the_field(api: httpx.Client) -> None:
    put = api.put
    assert "agents" in _field(put("/staffing/roster/billing", json=[{"day": "2026-04-20", "agents": -1}],
                                  headers=QUALITY))
    assert "day" in _field(put("/staffing/roster/billing", json=[{"day": "2026-02-30", "agents": 1}],
                               headers=QUALITY))
    assert "day" in _field(put("/staffing/roster/billing", json=[{"day": "2026-04-20", "agents": 1}] * 2,
                               headers=QUALITY))
    huge = [{"day": date.fromordinal(date(2026, 1, 1).toordinal() + i).isoformat(), "agents": 1} for i in range(400)]
    assert _field(put("/staffing/roster/billing", json=huge, headers=QUALITY)) == ["body"]
    assert "team" in _field(put("/staffing/roster/nosuchteam", json=[{"day": "2026-04-20", "agents": 1}],
                                headers=QUALITY))
    assert "team" in _field(put("/staffing/roster/Bad%20Team", json=[{"day": "2026-04-20", "agents": 1}],
                                headers=QUALITY))
    assert "extra" in _field(put("/staffing/roster/billing", json=[{"day": "2026-04-20", "agents": 1, "extra": 1}],
                                 headers=QUALITY))
    get = api.get
    assert _field(get("/staffing/roster/billing", params={"from": "2026-13-01", "to": "2026-04-01"},
                      headers=QUALITY)) == ["from"]
    assert _field(get("/staffing/roster/billing", params={"from": "2020-01-01", "to": "2026-04-01"},
                      headers=QUALITY)) == ["to"]
    assert _field(get("/staffing/roster/billing", params={"from": "2026-04-02", "to": "2026-04-01"},
                      headers=QUALITY)) == ["to"]
    assert _field(get("/staffing/plan", params={"team": "nosuchteam"}, headers=QUALITY)) == ["team"]
    assert _field(get("/staffing/plan", params={"from": "x"}, headers=QUALITY)) == ["from"]
    assert _field(get("/staffing/plan", params={"from": "2000-01-01", "to": "2026-04-01"},
                      headers=QUALITY)) == ["to"]
