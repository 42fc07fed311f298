"""The spot-check routes over real HTTP, on the whole stack as `make run` starts it (its worker runs
the month's workflow, its Anvil gives the seed)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio.client import Client

from cli.stack import Stack
from domain.policy import load_policy
from domain.spot_check import SpotCheckInput
from settings import ROOT
from tests.helpers import eventually
from tests.spot_check.planted import plant_month

QUALITY = {"X-API-Key": "dev-quality"}
AGENT = {"X-API-Key": "dev-agent"}
REVIEWER_1 = {"X-API-Key": "dev-reviewer"}  # bound to reviewer-1 (settings.DEV_API_KEYS)
MONTH = "2025-03"


async def _kickoff(stack: Stack) -> None:
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    policy = load_policy(ROOT / "config" / "policy.toml").spot_check.to_policy()
    await client.execute_workflow("SpotCheckKickoffWorkflow", SpotCheckInput(MONTH, policy),
                                  id=f"kick-{uuid.uuid4()}", task_queue="qualitrail-tickets")


def test_sample_tasks_and_findings_over_http(api: httpx.Client, stack: Stack) -> None:
    plant_month(f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}", month=MONTH, prefix="SC")
    asyncio.run(_kickoff(stack))

    def drawn() -> None:
        assert api.get(f"/spot-checks/{MONTH}", headers=QUALITY).status_code == 200
    eventually(drawn, timeout=60, interval=0.5)
    sample = api.get(f"/spot-checks/{MONTH}", headers=QUALITY).json()
    assert sample["strata"] == {"after-sales/after_sales": [40, 5], "billing/complaint": [20, 2]}
    assert sample["summary"] is None and sample["seed_hash"].startswith("0x")
    tasks = api.get(f"/spot-checks/{MONTH}/tasks", headers=QUALITY).json()["data"]
    assert len(tasks) == 7 and {t["status"] for t in tasks} == {"open"}
    mine = api.get(f"/spot-checks/{MONTH}/tasks", params={"reviewer": "reviewer-1"}, headers=QUALITY).json()
    assert {t["reviewer"] for t in mine["data"]} == {"reviewer-1"}
    # A reviewer's key sees and records only the tasks assigned to that reviewer.
    own = api.get(f"/spot-checks/{MONTH}/tasks", headers=REVIEWER_1).json()["data"]
    assert own == mine["data"]
    assert api.get(f"/spot-checks/{MONTH}/tasks", params={"reviewer": "reviewer-2"},
                   headers=REVIEWER_1).status_code == 403
    theirs = next(t["ticket_id"] for t in tasks if t["reviewer"] == "reviewer-2")
    refused = api.post(f"/spot-checks/{MONTH}/tasks/{theirs}/findings", json={"findings": []}, headers=REVIEWER_1)
    assert refused.status_code == 403 and "own review tasks" in refused.json()["detail"]
    by_own = api.post(f"/spot-checks/{MONTH}/tasks/{own[-1]['ticket_id']}/findings", json={"findings": []},
                      headers=REVIEWER_1)
    assert by_own.status_code == 200 and by_own.json()["status"] == "reviewed"

    first = tasks[0]["ticket_id"]
    url = f"/spot-checks/{MONTH}/tasks/{first}/findings"
    finding = {"deviation": "process_step", "step": "diagnosis", "severity": "major", "abnormal_feedback": True}
    off_list = api.post(url, json={"findings": [{**finding, "severity": "catastrophic"}]}, headers=QUALITY)
    assert off_list.status_code == 409 and "severity must be one of" in off_list.json()["detail"]
    done = api.post(url, json={"findings": [finding]}, headers=QUALITY)
    assert done.status_code == 200 and (done.json()["status"], done.json()["findings"]) == ("reviewed", 1)
    again = api.post(url, json={"findings": []}, headers=QUALITY)
    assert again.status_code == 409 and "already reviewed" in again.json()["detail"]
    stranger = api.post(f"/spot-checks/{MONTH}/tasks/SC-not-sampled/findings", json={"findings": []}, headers=QUALITY)
    assert stranger.status_code == 409 and "not in the" in stranger.json()["detail"]
    for t in tasks[1:]:
        if t["ticket_id"] == own[-1]["ticket_id"]:
            continue
        r = api.post(f"/spot-checks/{MONTH}/tasks/{t['ticket_id']}/findings", json={"findings": []}, headers=QUALITY)
        assert r.status_code == 200, r.text

    def summarised() -> None:
        summary = api.get(f"/spot-checks/{MONTH}", headers=QUALITY).json()["summary"]
        assert summary and summary["findings_by_severity"] == {"major": 1} and summary["reviewed"] == 7
    eventually(summarised, timeout=30, interval=0.5)


def test_spot_check_routes_refuse_what_they_must(api: httpx.Client) -> None:
    assert api.get("/spot-checks/2025-03").status_code == 401
    assert api.get("/spot-checks/2025-03", headers=AGENT).status_code == 403
    assert api.get("/spot-checks/2025-03/tasks", headers=AGENT).status_code == 403
    assert api.post("/spot-checks/2025-03/tasks/SC-1/findings", json={"findings": []}, headers=AGENT).status_code == 403
    missing = api.get("/spot-checks/2019-01", headers=QUALITY)
    assert missing.status_code == 404 and "2019-01" in missing.json()["detail"]
    assert api.get("/spot-checks/2019-01/tasks", headers=QUALITY).status_code == 404
    assert api.post("/spot-checks/2019-01/tasks/SC-1/findings", json={"findings": []},
                    headers=QUALITY).status_code == 404
    assert api.get("/spot-checks/2025-13", headers=QUALITY).json()["detail"][0]["loc"] == ["path", "month"]
    for body, field in (({}, "findings"), ({"findings": [{"deviation": "x"}]}, "step"),
                        ({"findings": [], "extra": 1}, "extra"),
                        ({"findings": [{"deviation": "Bad Value", "step": "intake", "severity": "minor"}]},
                         "deviation")):
        r = api.post("/spot-checks/2025-03/tasks/SC-1/findings", json=body, headers=QUALITY)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
