"""The observer panel's routes over real HTTP on the whole stack: enrolment, suggestions that become
faster tickets, reviews in the quarter's round, and hostile input."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio.client import Client

from cli.stack import Stack
from domain.observers import RoundInput
from tests.helpers import altered, eventually

QUALITY = {"X-API-Key": "dev-quality"}
AGENT = {"X-API-Key": "dev-agent"}
QUARTER = "2031-Q2"


async def _start_round(stack: Stack) -> None:
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    await client.execute_workflow("ObserverKickoffWorkflow", RoundInput(QUARTER), id=f"kick-{uuid.uuid4()}",
                                  task_queue="qualitrail-tickets")


def test_enrol_suggest_and_review_over_http(api: httpx.Client, stack: Stack) -> None:
    observer = f"obs-{uuid.uuid4().hex[:8]}"
    body = {"name": "李女士", "contact": "13600000001"}
    assert api.put(f"/observers/{observer}", json=body, headers=AGENT).status_code == 403
    enrolled = api.put(f"/observers/{observer}", json=body, headers=QUALITY)
    assert enrolled.status_code == 200, enrolled.text
    token = enrolled.json()["token"]
    assert enrolled.json()["active"] and token.startswith("ob.")
    listed = api.get("/observers", headers=QUALITY).json()
    assert observer in [o["observer_id"] for o in listed["data"]] and all(o["token"] is None for o in listed["data"])

    url = f"/observers/{observer}/suggestions"
    assert api.post(url, json={"text": "建议"}).status_code == 401
    assert api.post(url, json={"text": "建议"}, headers={"X-Observer-Token": altered(token)}).status_code == 403
    assert api.post("/observers/obs-nobody/suggestions", json={"text": "建议"},
                    headers={"X-Observer-Token": token}).status_code == 403
    receipt = api.post(url, json={"text": "建议：上门前一小时短信提醒"}, headers={"X-Observer-Token": token})
    assert receipt.status_code == 202, receipt.text
    ticket_id = "T-" + receipt.json()["reference"]

    def opened() -> None:
        answer = api.get(f"/tickets/{ticket_id}", headers=AGENT)
        assert answer.status_code == 200, answer.text
        t = answer.json()
        assert (t["category"], t["priority"], t["team"]) == ("observer_suggestion", "P2", "quality")
        first = next(c for c in t["clocks"] if c["name"] == "first_response")
        assert first["target_seconds"] == 600
    eventually(opened, timeout=60, interval=0.5)

    asyncio.run(_start_round(stack))
    review = {"process": "installation", "score": 4, "comment": "准时"}
    headers = {"X-Observer-Token": token}

    def reviewed() -> None:
        answer = api.post(f"/observers/{observer}/reviews/{QUARTER}", json=review, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["reviewed"][observer] == ["installation"]
    eventually(reviewed, timeout=60, interval=0.5)
    again = api.post(f"/observers/{observer}/reviews/{QUARTER}", json=review, headers=headers)
    assert again.status_code == 409 and "already reviewed" in again.json()["detail"]
    bad = api.post(f"/observers/{observer}/reviews/{QUARTER}", json={"process": "Installation!", "score": 9},
                   headers=headers)
    assert bad.status_code == 422 and {e["loc"][-1] for e in bad.json()["detail"]} == {"process", "score"}
    surrogate = api.post(f"/observers/{observer}/suggestions", content=b'{"text": "\\udc00"}',
                         headers={"Content-Type": "application/json", **headers})
    assert surrogate.status_code == 422 and surrogate.json()["detail"][0]["loc"] == ["body", "text"]
    state = api.get(f"/observers/rounds/{QUARTER}", headers=QUALITY).json()
    assert observer in state["invited"] and state["status"] == "collecting" and state["meeting"] is None
    assert api.get("/observers/rounds/2031-Q1", headers=QUALITY).status_code == 404


def test_hostile_observer_input(api: httpx.Client) -> None:
    assert api.get("/observers/rounds/2031-Q5", headers=QUALITY).status_code == 422
    assert api.put("/observers/%00x", json={"name": "a", "contact": "123"}, headers=QUALITY).status_code == 422
    bad = api.put("/observers/obs-x1", json={"name": "a" * 200, "contact": "1 2"}, headers=QUALITY)
    assert bad.status_code == 422 and {e["loc"][-1] for e in bad.json()["detail"]} == {"name", "contact"}
    # The token is checked before the body: a stranger learns nothing from the body's errors.
    stranger = api.post(f"/observers/obs-x1/reviews/{QUARTER}", headers={"X-Observer-Token": "ob.x"},
                        json={"process": "Installation!", "score": 9})
    assert stranger.status_code == 403
    assert api.post(f"/observers/obs-x1/reviews/{QUARTER}", json={}).status_code == 401
    assert api.post("/observers/obs-x1/reviews/2031-Q9", json={}).status_code == 401  # credentials first
