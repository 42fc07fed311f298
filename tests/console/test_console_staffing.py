"""Forecast and staffing in the console (rule 7), over real HTTP against the stack.

The plan is made by the real activity (``StaffingActivities.plan_staffing``) over a generated
history in a database of its own (the stack's worker reconciles every ticket row, so no generated
ticket goes into the stack's), then stored in the stack's read model by ``readmodel/staffing.py:
store_plan``, as the daily run stores it. The actual volume the chart draws is the stack's own:
a ticket of a category of its own, filed through the API for the team shown.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser
from temporalio.testing import ActivityEnvironment

from activities.staffing import StaffingActivities
from analysis.generator import GeneratorConfig
from cli.data import write_history
from cli.stack import Stack
from domain.policy import load_policy
from domain.staffing import StaffingRequest
from readmodel import staffing as store
from readmodel.db import init_db, session_scope
from readmodel.staffing_models import StaffingPlanDay
from settings import ROOT, Settings
from tests.console.people import ADMIN_KEY, Person, accept, cookies_of, login, new_person, ticket_body
from tests.console.test_console_browser import PHONE, Visit, no_serious_violations, shot
from tests.helpers import eventually, serve_api_with, tmp_db_url

POLICY = ROOT / "config" / "policy.toml"
TEAM, OTHER = "logistics", "billing"


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.api_url


@pytest.fixture(scope="module")
def db_url(stack: Stack) -> str:
    return f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}"


def today() -> date:
    return datetime.now(ZoneInfo(load_policy(POLICY).calendar.timezone)).date()


def head(base: str, team: str, language: str = "en") -> Person:
    """The person [departments.heads] names for ``team``, invited as a team head and signed in."""
    person_id = load_policy(POLICY).department_head(team)
    body = {"person_id": person_id, "display_name": person_id.title(), "email": f"{person_id}@example.cn",
            "team": team, "role": "team_head", "suppliers": ""}
    invited = httpx.post(f"{base}/console/api/invitations", json=body, headers=ADMIN_KEY, timeout=30)
    assert invited.status_code == 201, invited.text
    assert accept(base, invited.json()["invite_url"].split("#", 1)[1], language=language).status_code == 303
    signed = login(base, person_id)
    assert signed.status_code == 303, signed.text
    person = Person(base, person_id, "team_head", {"qt_console": cookies_of(signed)["qt_console"]})
    person.csrf = re.search(r'name="csrf" value="([^"]+)"', person.get("/console/preferences").text).group(1)  # type: ignore[union-attr]
    return person


@pytest.fixture(scope="module")
def people(base: str) -> dict[str, Person]:
    out = {role: new_person(base, role, "*" if role == "supplier_manager" else "")
           for role in ("quality", "supervisor", "agent", "auditor", "supplier_manager", "team_head")}
    out["head"], out["other_head"] = head(base, TEAM), head(base, OTHER)
    return out


@pytest.fixture(scope="module")
def planted(base: str, db_url: str) -> dict[str, str]:
    """Today's plan, made by the real activity over 100 generated days, stored in the stack's read model;
    and one ticket today of a category only the shown team handles (the chart's actual volume)."""
    run_key = today().isoformat()
    history = GeneratorConfig(tickets=1500, seed=16, start=today() - timedelta(days=100), days=100, prefix="STC")
    with tempfile.TemporaryDirectory() as tmp:
        own = tmp_db_url(Path(tmp))
        write_history(own, history)
        outcome = ActivityEnvironment().run(StaffingActivities(own, POLICY).plan_staffing, StaffingRequest(run_key))
        assert outcome.plan_days > 0, outcome
        with session_scope(own) as session:
            run = store.latest_run(session)
            assert run is not None
            rows = [StaffingPlanDay(**r.model_dump()) for r in store.plan_days(session, run_key=run_key)]
            made = (run.history_from, run.history_to, run.tickets, json.loads(run.series))
    with session_scope(db_url) as session:
        store.store_plan(session, run_key=run_key, history_from=made[0], history_to=made[1], tickets=made[2],
                         series=made[3], plan=rows)
    category = f"stc-{uuid.uuid4().hex[:8]}"
    created = httpx.post(f"{base}/tickets", json=ticket_body(category=category, team=TEAM),
                         headers={"X-API-Key": "dev-agent"}, timeout=60)
    assert created.status_code == 201, created.text
    return {"run": run_key, "category": category}


def chart_of(text: str) -> dict[str, list[object]]:
    found = re.search(r'id="staffing-chart"[^>]*data-chart="([^"]+)"', text, re.S)
    assert found, text[:2000]
    return json.loads(html.unescape(found.group(1)))  # type: ignore[no-any-return]


def test_no_run_yet_is_said_plainly() -> None:
    """Before any daily run (a read model of its own, served in process): no plan, no chart, no numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        url = tmp_db_url(Path(tmp))
        init_db(url)
        settings = Settings(database_url=url, api_keys="k-admin:admin", console_password_memory_kib=8192,  # type: ignore[call-arg, arg-type]
                            console_password_time_cost=1)
        with serve_api_with(settings) as api:
            admin_key = {"X-API-Key": "k-admin"}
            body = {"person_id": "quality-nr", "display_name": "Q", "email": "q@example.cn", "team": "quality",
                    "role": "quality", "suppliers": ""}
            code = httpx.post(f"{api}/console/api/invitations", json=body, headers=admin_key, timeout=30)
            assert code.status_code == 201, code.text
            assert accept(api, code.json()["invite_url"].split("#", 1)[1]).status_code == 303
            signed = login(api, "quality-nr")
            person = Person(api, "quality-nr", "quality", {"qt_console": cookies_of(signed)["qt_console"]})
            page = person.get(f"/console/staffing/{TEAM}")
            assert page.status_code == 200, page.text
            assert 'id="no-run"' in page.text and "No forecast-and-staffing run has happened yet" in page.text
            assert "staffing-chart" not in page.text and 'id="run-facts"' not in page.text
            assert 'id="roster-form"' in page.text  # the roster can be recorded before any plan
            forecast = person.get("/console/forecast")
            assert forecast.status_code == 200 and 'id="no-run"' in forecast.text and "<table" not in forecast.text


def test_a_team_head_sees_the_plan_and_the_chart(people: dict[str, Person], planted: dict[str, str]) -> None:
    me = people["head"]
    assert me.get("/console/staffing").headers["location"] == f"/console/staffing/{TEAM}"
    page = me.get(f"/console/staffing/{TEAM}")
    assert page.status_code == 200, page.text
    text = page.text
    assert f'id="run-key">{planted["run"]}<' in text and "Staffing and forecast: logistics" in text
    assert 'href="/console/staffing"' in text and 'href="/console/forecast"' not in text  # nav: quality's page
    rows = re.findall(r'<tr id="day-(\d{4}-\d\d-\d\d)"', text)
    assert rows[0] == planted["run"] and len(rows) == 30
    assert "/console/staffing/billing" not in text  # a team head is shown only their team
    chart = chart_of(text)
    days = chart["x"]
    actual, forecast = (s["data"] for s in chart["series"])  # type: ignore[index]
    assert days[-1] == rows[-1] and days.index(planted["run"]) == 28  # 28 days of actuals, then the plan
    assert all(v is not None for v in forecast[28:]) and all(v is None for v in forecast[:28])
    assert all(v is None for v in actual[29:])

    def counted() -> None:  # the ticket filed today reaches the read model and the chart
        got = chart_of(me.get(f"/console/staffing/{TEAM}").text)["series"][0]["data"]  # type: ignore[index]
        assert got[28] >= 1
    eventually(counted, timeout=60, interval=0.5)


def test_the_roster_form_records_and_short_days_are_highlighted(base: str, people: dict[str, Person],
                                                                planted: dict[str, str]) -> None:
    me, first = people["head"], date.fromisoformat(planted["run"])
    short, covered = first + timedelta(days=3), first + timedelta(days=4)
    answer = me.post(f"/console/staffing/{TEAM}/roster", {f"agents_{short}": "0", f"agents_{covered}": "500",
                                                         f"agents_{first + timedelta(days=5)}": ""})
    assert answer.status_code == 303, answer.text
    text = me.get(answer.headers["location"]).text
    row = re.search(rf'<tr id="day-{short}" class="short">.*?</tr>', text, re.S)
    assert row and re.search(r'class="badge bad">short by \d+<', row.group(0)), text
    assert f'<tr id="day-{covered}">' in text and 'value="500"' in text
    assert int(re.search(r'id="short-days">(\d+)<', text).group(1)) >= 1  # type: ignore[union-attr]
    # The API reads back what the form recorded: the same store, the same command.
    api = httpx.get(f"{base}/staffing/plan", params={"team": TEAM, "from": str(short), "to": str(covered)},
                    headers={"X-API-Key": "dev-quality"}, timeout=30).json()["data"]
    assert [(d["rostered"], d["short_by"] > 0) for d in api] == [(0, True), (500, False)]
    # Quality may change any team's roster; a supervisor sees it but has no form.
    assert people["quality"].post(f"/console/staffing/{OTHER}/roster", {f"agents_{short}": "7"}).status_code == 303
    sup = people["supervisor"].get(f"/console/staffing/{OTHER}")
    assert sup.status_code == 200 and 'id="roster-form"' not in sup.text and ">7</td>" in sup.text
    assert people["supervisor"].post(f"/console/staffing/{OTHER}/roster",
                                     {f"agents_{short}": "1"}).status_code == 403


def test_roles_and_other_teams_are_refused(people: dict[str, Person], planted: dict[str, str]) -> None:
    day = f"agents_{planted['run']}"
    for role in ("agent", "auditor", "supplier_manager"):
        for path in (f"/console/staffing/{TEAM}", "/console/staffing", "/console/forecast"):
            answer = people[role].get(path)
            assert answer.status_code == 403 and "may not open this page" in answer.text, (role, path)
        assert people[role].post(f"/console/staffing/{TEAM}/roster", {day: "3"}).status_code == 403
        assert 'href="/console/staffing"' not in people[role].get("/console/preferences").text
    other = people["other_head"]
    refused = other.get(f"/console/staffing/{TEAM}")
    assert refused.status_code == 403 and "only their own team" in refused.text
    assert other.post(f"/console/staffing/{TEAM}/roster", {day: "3"}).status_code == 403
    assert other.get("/console/forecast").status_code == 403
    assert other.get(f"/console/staffing/{OTHER}").status_code == 200
    nobody = people["team_head"]  # a team head the policy names for no team
    assert nobody.get("/console/staffing").status_code == 403
    assert nobody.get(f"/console/staffing/{TEAM}").status_code == 403


def test_csrf_and_hostile_input_get_a_4xx_naming_the_field(people: dict[str, Person], planted: dict[str, str]
                                                           ) -> None:
    me, run = people["head"], planted["run"]
    path = f"/console/staffing/{TEAM}/roster"
    assert me.post(path, {f"agents_{run}": "3"}, csrf=False).status_code == 403
    assert me.post(path, {"csrf": "forged", f"agents_{run}": "3"}, csrf=False).status_code == 403
    cases = [({f"agents_{run}": "-1"}, f"agents_{run}"), ({f"agents_{run}": "many"}, f"agents_{run}"),
             ({f"agents_{run}": "100001"}, f"agents_{run}"), ({"agents_2026-02-30": "1"}, "agents_2026-02-30"),
             ({"agents_yesterday": "1"}, "agents_yesterday"), ({f"agents_{run}": "1\x00"}, f"agents_{run}"),
             ({"team": "billing"}, "team"), ({f"agents_{run}": ""}, "agents"),
             ({f"agents_{date(2020, 1, 1)}": "1", f"agents_{run}": "1"}, "day")]
    for data, field in cases:
        answer = me.post(path, data)
        assert answer.status_code == 422 and field in answer.text, (data, answer.status_code, answer.text[-800:])
        assert "Internal" not in answer.text
    huge = {f"agents_{date(2027, 1, 1) + timedelta(days=i)}": "1" for i in range(200)}
    answer = me.post(path, huge)
    assert answer.status_code in (413, 422) and "body" in answer.text
    assert me.post("/console/staffing/no-such-team/roster", {f"agents_{run}": "1"}).status_code == 422
    bad = me.get("/console/staffing/Bad%20Team")
    assert bad.status_code == 422 and "team" in bad.text
    unknown = people["quality"].get("/console/staffing/nosuchteam")
    assert unknown.status_code == 422 and "team" in unknown.text


def test_the_forecast_page_shows_each_series_backtest(people: dict[str, Person], planted: dict[str, str]) -> None:
    page = people["quality"].get("/console/forecast")
    assert page.status_code == 200, page.text
    text = page.text
    assert f'id="run-key">{planted["run"]}<' in text and "seasonal naive" in text
    ratios = re.findall(r'class="badge (?:ok|bad)">(\d+\.\d{3}) · ', text)
    assert ratios and all(float(r) > 0 for r in ratios)
    assert text.count("<tr><th scope=\"row\">") >= len(ratios)
    zh = people["supervisor"]
    zh.post("/console/preferences", {"language": "zh", "next": "/console/forecast"})
    page = zh.get("/console/forecast")
    assert page.status_code == 200 and "工单量预测：回测质量" in page.text and "季节性朴素 MASE" in page.text
    zh_staffing = zh.get(f"/console/staffing/{TEAM}")
    assert "排班与预测：logistics" in zh_staffing.text and "预测与实际" in zh_staffing.text
    assert "所需坐席" in zh_staffing.text


def test_the_staffing_page_at_phone_width(base: str, browser: Browser, people: dict[str, Person],
                                          planted: dict[str, str], tmp_path: Path) -> None:
    visit = Visit(browser, base, PHONE)
    try:
        visit.sign_in(people["head"].person_id)
        page = visit.page
        page.goto(f"{base}/console/staffing/{TEAM}")
        page.wait_for_selector("#staffing-chart canvas")  # ECharts, served by us, drew both lines
        shot(page, tmp_path / "staffing-en-phone.png", "Forecast vs actual", "Agents needed", "Save the roster")
        no_serious_violations(page)
        page.fill(f"#agents_{planted['run']}", "-5")
        page.evaluate("document.getElementById('roster-form').noValidate = true")
        with page.expect_navigation():
            page.click("#save-roster")
        assert f"agents_{planted['run']}" in page.inner_text("#problem")
        no_serious_violations(page)
        visit.language("zh")
        page.wait_for_selector("#staffing-chart canvas")
        shot(page, tmp_path / "staffing-zh-phone.png", "预测与实际", "所需坐席")
    finally:
        visit.close()
