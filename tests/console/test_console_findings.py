"""A reviewer records spot-check findings from the console: only on their own tasks, against the
policy's checklist, through the month's real workflow on the stack (drawn by the stack's worker from
planted tickets, with two console reviewers as the month's reviewers); errors come back on the form."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from temporalio.client import Client

from cli.stack import Stack
from domain.policy import load_policy
from domain.spot_check import SpotCheckInput
from settings import ROOT
from tests.console.people import Person, new_person
from tests.console.test_console_browser import PHONE, Visit, no_serious_violations, shot
from tests.helpers import eventually
from tests.spot_check.planted import plant_month

MONTH = "2025-05"  # the spot-check API test draws 2025-03 on the same stack
QUALITY_KEY = {"X-API-Key": "dev-quality"}


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.api_url


async def _kickoff(stack: Stack, reviewers: list[str]) -> None:
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    policy = load_policy(ROOT / "config" / "policy.toml").spot_check.to_policy()
    await client.execute_workflow("SpotCheckKickoffWorkflow",
                                  SpotCheckInput(MONTH, dataclasses.replace(policy, reviewers=reviewers)),
                                  id=f"kick-{uuid.uuid4()}", task_queue="qualitrail-tickets")


@pytest.fixture(scope="module")
def month(stack: Stack, base: str) -> dict[str, Person]:
    """The month drawn, its tasks split between two console reviewers."""
    people = {"one": new_person(base, "reviewer"), "two": new_person(base, "reviewer"),
              "quality": new_person(base, "quality"), "agent": new_person(base, "agent")}
    plant_month(f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}", month=MONTH, prefix="CF")
    asyncio.run(_kickoff(stack, [people["one"].person_id, people["two"].person_id]))

    def drawn() -> None:
        tasks = httpx.get(f"{base}/spot-checks/{MONTH}/tasks", headers=QUALITY_KEY, timeout=30)
        assert tasks.status_code == 200 and len(tasks.json()["data"]) == 7
    eventually(drawn, timeout=90, interval=0.5)
    return people


def _tasks(base: str, reviewer: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{base}/spot-checks/{MONTH}/tasks", params={"reviewer": reviewer}, headers=QUALITY_KEY,
                       timeout=30)
    return list(answer.json()["data"])


def test_a_reviewer_records_only_their_own_tasks_and_errors_stay_on_the_form(base: str,
                                                                          month: dict[str, Person]) -> None:
    one, two = month["one"], month["two"]
    mine, theirs = _tasks(base, one.person_id), _tasks(base, two.person_id)
    assert mine and theirs
    own = f"/console/spot-checks/{MONTH}/tasks/{mine[0]['ticket_id']}"
    other = f"/console/spot-checks/{MONTH}/tasks/{theirs[0]['ticket_id']}"
    queue = one.get(f"/console/spot-checks?month={MONTH}").text
    assert f'href="{own}">Record the review<' in queue and f'href="{other}"' not in queue
    page = one.get(own)
    assert page.status_code == 200 and "Finding 1" in page.text and "process step" in page.text
    # Someone else's task: refused to see and to record, as the API refuses it.
    assert one.get(other).status_code == 403
    assert one.post(other, {"deviation_0": "none", "step_0": "intake", "severity_0": "minor"}).status_code == 403
    assert month["agent"].get(own).status_code == 403 and month["agent"].post(own, {}).status_code == 403
    assert one.get(f"/console/spot-checks/{MONTH}/tasks/CF-not-sampled").status_code == 404
    # No form token, no review.
    assert one.post(own, {"deviation_0": "none", "step_0": "intake", "severity_0": "minor"},
                    csrf=False).status_code == 403
    # Hostile or off-checklist input: a 4xx naming the field, shown on the form, nothing recorded.
    for data, status, words in (
            ({"deviation_0": "x" * 5000, "step_0": "intake", "severity_0": "minor"}, 422, "deviation_0"),
            ({"deviation_0": "process_step", "step_0": "Intake!", "severity_0": "minor"}, 422, "step_0"),
            ({"deviation_1": "communication", "step_1": "intake", "severity_1": "%"}, 422, "severity_1"),
            ({"deviation_0": "made_up", "step_0": "intake", "severity_0": "minor"}, 409, "deviation must be one of"),
            ({"deviation_0": "process_step", "step_0": "intake", "severity_0": "catastrophic"}, 409, "severity")):
        answer = one.post(own, data)
        assert answer.status_code == status and words in answer.text, (data, answer.text[:400])
        assert 'role="alert"' in answer.text and 'action="' + own in answer.text  # the form, again
    raw = httpx.post(base + own, content=b"csrf=" + one.csrf.encode() + b"&deviation_0=%ff",
                     headers={**one.header(), "Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert raw.status_code == 422 and "body" in raw.text
    huge = httpx.post(base + own, content=b"csrf=" + one.csrf.encode() + b"&notes=" + b"x" * 3_000_000,
                      headers={**one.header(), "Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert huge.status_code == 413
    assert _tasks(base, one.person_id)[0]["status"] == "open"

    answer = one.post(own, {"deviation_0": "process_step", "step_0": "diagnosis", "severity_0": "major",
                            "abnormal_0": "on"})
    assert answer.status_code == 303 and answer.headers["location"] == own + "?done=findings"
    shown = one.get(answer.headers["location"]).text
    assert "The review is recorded." in shown and 'id="task-status">reviewed' in shown and 'id="record"' not in shown
    task = next(t for t in _tasks(base, one.person_id) if t["ticket_id"] == mine[0]["ticket_id"])
    assert (task["status"], task["findings"]) == ("reviewed", 1)
    again = one.post(own, {})
    assert again.status_code == 409 and "already reviewed" in again.text
    # The quality department may record anyone's task.
    assert month["quality"].post(other, {}).status_code == 303


def test_findings_entry_in_chromium_at_phone_width(base: str, browser: Browser, month: dict[str, Person],
                                                   tmp_path: Path) -> None:
    two = month["two"]
    task = next(t for t in _tasks(base, two.person_id) if t["status"] == "open")
    visit = Visit(browser, base, PHONE)
    try:
        visit.sign_in(two.person_id)
        page = visit.page
        page.goto(f"{base}/console/spot-checks?month={MONTH}")
        with page.expect_navigation():
            page.locator(f'a[href$="/tasks/{task["ticket_id"]}"]').click()
        no_serious_violations(page)
        shot(page, tmp_path / "findings-en-phone.png", "Review task", "Finding 1", "Abnormal customer feedback")
        page.locator("#deviation_0").select_option("communication")
        page.locator("#step_0").select_option("first_response")
        page.locator("#severity_0").select_option("minor")
        page.get_by_label("Abnormal customer feedback").first.check()
        with page.expect_navigation():
            page.get_by_role("button", name="Record the review").click()
        assert page.locator("#done").inner_text() == "The review is recorded."
        assert page.locator("#task-findings").inner_text() == "1"
        visit.language("zh")
        shot(page, tmp_path / "findings-zh-phone.png", "复核结果已记录。", "已复核", "复核任务")
        no_serious_violations(page)
    finally:
        visit.close()
    recorded = next(t for t in _tasks(base, two.person_id) if t["ticket_id"] == task["ticket_id"])
    assert (recorded["status"], recorded["findings"]) == ("reviewed", 1)
