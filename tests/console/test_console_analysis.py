"""Root causes, proposals to the joint meeting and a ticket's similar cases in the console, over real
HTTP against the stack. The analysis run and the proposal are stored the way the daily analysis
stores them (readmodel/analysis.py:store_run, propose); acceptance then starts the real meeting on
the stack's Temporal server, as the API's accept route does."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from cli.stack import Stack
from readmodel import analysis as store
from readmodel.cases import add_cases
from readmodel.db import session_scope
from tests.console.people import Person, new_person, ticket_body
from tests.console.test_console_browser import PHONE, Visit, no_serious_violations, shot
from tests.helpers import eventually

QUALITY_KEY = {"X-API-Key": "dev-quality"}


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.api_url


@pytest.fixture(scope="module")
def db_url(stack: Stack) -> str:
    return f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}"


@pytest.fixture(scope="module")
def people(base: str) -> dict[str, Person]:
    return {role: new_person(base, role, "*" if role == "supplier_manager" else "")
            for role in ("quality", "supervisor", "agent", "auditor", "reviewer", "team_head", "supplier_manager")}


def _ticket(base: str, **overrides: object) -> str:
    created = httpx.post(f"{base}/tickets", json=ticket_body(**overrides), headers={"X-API-Key": "dev-agent"},
                         timeout=60)
    assert created.status_code == 201, created.text
    return str(created.json()["ticket"]["ticket_id"])


def _run(run_key: str, example: str) -> dict[str, Any]:
    """A run's stored result, shaped as analysis/run.py:analyse makes it."""
    problem = {
        "id": "zh-0", "name": "安装 漏水", "lang": "zh", "terms": ["安装", "漏水", "接头"], "size": 120,
        "estimated_size": 240, "recent": 90, "previous": 30, "trend": 2.935, "severity": 1.5, "priority": 1056.6,
        "departments": ["after-sales", "logistics"], "step": "diagnosis", "step_share": 71.0,
        "root_cause": "handoff_gap", "category": "after_sales", "share_of_failures": 40.0,
        "problem_key": "P-" + "a" * 16, "systemic": True, "reasons": ["two departments"],
        "examples": [{"ticket_id": example, "text": "洗衣机安装后漏水"}], "ticket_ids": [example]}
    minor = {**problem, "id": "en-1", "terms": ["invoice", "late"], "estimated_size": 30, "priority": 12.5,
             "systemic": False, "departments": ["billing"], "step": "closure", "examples": []}
    return {"as_of": f"{run_key}T09:00:00+00:00", "tickets": 3000, "failures": 600, "threshold_percent": 40.0,
            "reopen_rate": 4.25, "repeat_rate": 2.5, "sampled_texts": 600,
            "shares": {"failures": 600, "by_step": {"diagnosis": 52.5, "intake": 30.0, "closure": 17.5},
                       "by_root_cause": {"handoff_gap": 61.0, "unknown": 39.0}, "flagged_steps": ["diagnosis"],
                       "by_month_team": [{"month": run_key[:7], "team": "after-sales", "failures": 400,
                                          "by_step": {"diagnosis": 70.0, "intake": 30.0},
                                          "by_root_cause": {"handoff_gap": 100.0}, "flagged_steps": ["diagnosis"]}]},
            "problems": [problem, minor]}


@pytest.fixture(scope="module")
def planted(base: str, db_url: str) -> dict[str, str]:
    """A stored run (a day of its own) and a proposal naming a real ticket."""
    example = _ticket(base)
    run_key = f"2003-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
    key = "P-" + uuid.uuid4().hex[:16]
    with session_scope(db_url) as session:
        store.store_run(session, run_key=run_key, as_of=datetime.now(UTC), tickets=3000, failures=600,
                        flagged_steps=["diagnosis"], result=_run(run_key, example))
        store.propose(session, [{
            "problem_key": key, "title": "安装与物流交接断档 / hand-off gap",
            "departments": ["after-sales", "logistics"],
            "category": "after_sales", "step": "diagnosis", "root_cause": "handoff_gap",
            "reasons": ["two departments", "90 tickets in the last 28 days"], "clusters": ["zh-0"],
            "share_of_failures": 40.0, "tickets": 240, "ticket_ids": [example]}], run_key=run_key)
        second = "P-" + uuid.uuid4().hex[:16]
        store.propose(session, [{
            "problem_key": second, "title": "Invoices late", "departments": ["billing"], "category": "complaint",
            "step": "closure", "root_cause": None, "reasons": ["recurring"], "clusters": ["en-1"],
            "share_of_failures": 5.0, "tickets": 30, "ticket_ids": [example]}], run_key=run_key)
    return {"run": run_key, "key": key, "second": second, "example": example}


def test_root_causes_page_shows_the_run(people: dict[str, Person], planted: dict[str, str]) -> None:
    page = people["quality"].get(f"/console/root-causes?run={planted['run']}")
    assert page.status_code == 200, page.text
    text = page.text
    assert f'id="run-key">{planted["run"]}<' in text
    # The step over the policy's 40 % line is named and flagged, in the table and the chart's data.
    assert "These steps cause more than 40.0 % of failures: diagnosis" in text
    assert "diagnosis <span class=\"badge bad\">over the threshold</span>" in text and "52.5 %" in text
    assert 'data-chart="' in text and "/console/static/vendor/echarts.min.js" in text
    assert "handoff_gap</th><td>61.0 %" in text  # by root cause
    assert '<span class="bad">diagnosis 70.0 %</span>' in text  # month and team, flagged there too
    # The priority list: highest first, with size, trend, examples linking to the ticket.
    assert text.index("安装 · 漏水 · 接头") < text.index("invoice · late")
    assert "90 recent, 30 before (× 2.935)" in text and ">240<" in text
    assert f'href="/console/tickets/{planted["example"]}"' in text
    zh = people["supervisor"]
    zh.post("/console/preferences", {"language": "zh", "next": "/console/root-causes"})
    page = zh.get(f"/console/root-causes?run={planted['run']}")
    assert page.status_code == 200 and "以下环节造成的失败超过 40.0%：diagnosis" in page.text
    assert "改进优先级清单" in page.text
    assert people["quality"].get("/console/root-causes?run=2002-02-30").status_code == 404
    bad = people["quality"].get("/console/root-causes?run=" + "9" * 5000)
    assert bad.status_code in (414, 422) and (bad.status_code == 414 or "run" in bad.text)


def test_pages_are_refused_to_the_roles_that_should_not_see_them(people: dict[str, Person],
                                                                 planted: dict[str, str]) -> None:
    pages = ["/console/root-causes", "/console/proposals", f"/console/proposals/{planted['key']}"]
    for role in ("agent", "auditor", "reviewer", "team_head", "supplier_manager"):
        for path in pages:
            answer = people[role].get(path)
            assert answer.status_code == 403 and "may not open this page" in answer.text, (role, path)
        refused = people[role].post(f"/console/proposals/{planted['key']}/accept", {})
        assert refused.status_code == 403, role
        assert "/console/root-causes" not in people[role].get("/console/preferences").text  # not in the nav
    assert 'href="/console/proposals"' in people["quality"].get("/console/preferences").text


def test_committee_accepts_a_proposal_and_the_meeting_starts(base: str, people: dict[str, Person],
                                                            planted: dict[str, str]) -> None:
    quality, key = people["quality"], planted["key"]
    listed = quality.get("/console/proposals?status=proposed")
    assert listed.status_code == 200 and key in listed.text and "hand-off gap" in listed.text
    page = quality.get(f"/console/proposals/{key}")
    assert page.status_code == 200
    assert "90 tickets in the last 28 days" in page.text
    assert f'href="/console/tickets/{planted["example"]}"' in page.text
    assert "Accept and open the meeting" in page.text and page.text.count('name="csrf"') >= 4
    # Without the form's token nothing happens.
    assert quality.post(f"/console/proposals/{key}/accept", {}, csrf=False).status_code == 403
    assert quality.post(f"/console/proposals/{key}/accept", {"csrf": "forged"}, csrf=False).status_code == 403
    assert httpx.get(f"{base}/analysis/proposals/{key}", headers=QUALITY_KEY, timeout=30).json()["status"] \
        == "proposed"

    answer = quality.post(f"/console/proposals/{key}/accept", {})
    assert answer.status_code == 303 and answer.headers["location"] == f"/console/meetings/M-{key}"
    meeting = quality.get(answer.headers["location"])
    assert meeting.status_code == 200 and "hand-off gap" in meeting.text and "Solution due in" in meeting.text
    view = httpx.get(f"{base}/analysis/proposals/{key}", headers=QUALITY_KEY, timeout=30).json()
    assert (view["status"], view["meeting_id"], view["accepted_by"]) == ("accepted", f"M-{key}",
                                                                         f"quality:{quality.person_id}")
    shown = quality.get(f"/console/proposals/{key}").text
    assert f'id="meeting-link" href="/console/meetings/M-{key}"' in shown and "Accept and open" not in shown
    # A second acceptance (another tab, a retry) opens no second meeting: 409 shown on the page.
    again = quality.post(f"/console/proposals/{key}/accept", {})
    assert again.status_code == 409 and "already accepted" in again.text and 'role="alert"' in again.text


def test_committee_rejects_with_a_reason_and_hostile_input_is_refused(base: str, people: dict[str, Person],
                                                                     planted: dict[str, str]) -> None:
    supervisor, key = people["supervisor"], planted["second"]
    for data, field in (({"reason": ""}, "reason"), ({"reason": "x" * 2001}, "reason"),
                        ({"reason": "a\x00b"}, "reason")):
        answer = supervisor.post(f"/console/proposals/{key}/reject", data)
        assert answer.status_code == 422 and field in answer.text, (data, answer.text[:300])
    assert supervisor.post(f"/console/proposals/{key}/reject", {"reason": "no"}, csrf=False).status_code == 403
    assert supervisor.post("/console/proposals/P-nothex/reject", {"reason": "x"}).status_code == 422
    assert supervisor.post(f"/console/proposals/P-{'0' * 16}/reject", {"reason": "x"}).status_code == 404

    answer = supervisor.post(f"/console/proposals/{key}/reject", {"reason": "已由计费系统升级解决 / fixed by billing"})
    assert answer.status_code == 303
    page = supervisor.get(answer.headers["location"]).text
    # (this supervisor reads Chinese: the root-causes test switched their language)
    assert 'id="proposal-status">已驳回<' in page and "fixed by billing" in page and 'id="accept"' not in page
    view = httpx.get(f"{base}/analysis/proposals/{key}", headers=QUALITY_KEY, timeout=30).json()
    assert (view["status"], view["meeting_id"]) == ("rejected", None)
    refused = supervisor.post(f"/console/proposals/{key}/accept", {})
    assert refused.status_code == 409 and "was rejected" in refused.text and "无法执行" not in refused.text
    # The API refuses it too, and its own reject route names the field it refuses.
    assert httpx.post(f"{base}/analysis/proposals/{key}/accept", headers=QUALITY_KEY, timeout=30).status_code == 409
    bad = httpx.post(f"{base}/analysis/proposals/{key}/reject", json={"reason": ""}, headers=QUALITY_KEY, timeout=30)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "reason"


def test_a_ticket_page_shows_similar_cases(base: str, db_url: str, people: dict[str, Person]) -> None:
    ticket = _ticket(base, summary="滚筒洗衣机排水泵异响", description="排水时异响，持续三天")
    ident = f"meeting:M-{uuid.uuid4().hex[:8]}"
    with session_scope(db_url) as session:
        add_cases(session, [{"id": ident, "source": "meeting", "problem": "滚筒洗衣机排水泵异响，客户多次来电",
                             "cause": "排水泵叶轮松动", "measure": "上门更换叶轮并紧固", "outcome": "同类投诉下降",
                             "category": "after_sales", "team": "after-sales", "step": "diagnosis", "lang": "zh"}])
    agent = people["agent"]

    def shown() -> None:  # the ticket reaches the read model, the grown library is re-indexed
        page = agent.get(f"/console/tickets/{ticket}")
        assert page.status_code == 200
        assert "Similar cases from the library" in page.text and ident in page.text and "排水泵叶轮松动" in page.text
    eventually(shown, timeout=90, interval=0.5)
    api = httpx.get(f"{base}/tickets/{ticket}/similar-cases", headers={"X-API-Key": "dev-agent"}, timeout=30).json()
    assert ident in [c["id"] for c in api["data"]]  # the same cases the API finds


def test_root_causes_chart_and_proposal_at_phone_width(base: str, browser: Browser, people: dict[str, Person],
                                                       planted: dict[str, str], tmp_path: Path) -> None:
    visit = Visit(browser, base, PHONE)
    try:
        visit.sign_in(people["quality"].person_id)
        page = visit.page
        page.goto(f"{base}/console/root-causes?run={planted['run']}")
        page.wait_for_selector("#step-chart canvas")  # ECharts, served by us, drew the steps
        shot(page, tmp_path / "root-causes-en-phone.png", "Share of failures by step", "Priority list", "diagnosis")
        no_serious_violations(page)
        page.goto(f"{base}/console/proposals/{planted['key']}")
        shot(page, tmp_path / "proposal-en-phone.png", "hand-off gap", "Share of failures run by run")
        no_serious_violations(page)
    finally:
        visit.close()
