"""Horizontal scale: two worker processes on one task queue share tickets and lose none when one
dies; API instances keep no state. Runs on a non-default Temporal namespace, as a cluster would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from temporalio.client import Client

from cli.stack import Stack, StackConfig
from tests.helpers import eventually

AGENT = {"X-API-Key": "dev-agent"}
NAMESPACE = "qualitrail-prod"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.ephemeral(tmp_path_factory.mktemp("scale"), namespace=NAMESPACE)
    with Stack(config) as stack:
        stack.start_worker("worker-2")
        yield stack


def lifecycle(api: httpx.Client, team: str) -> tuple[str, str]:
    body = {"ticket_id": f"SC-{uuid.uuid4().hex[:10]}", "customer_ref": uuid.uuid4().hex, "channel": "branch",
            "category": "after_sales", "priority": "P2", "team": team, "summary": "Scale test"}
    created = api.post("/tickets", json=body, headers=AGENT)
    assert created.status_code == 201, created.text
    tid, token = created.json()["ticket"]["ticket_id"], created.json()["customer_token"]
    assert api.post(f"/tickets/{tid}/respond", json={}, headers=AGENT).status_code == 200
    assert api.post(f"/tickets/{tid}/resolve", json={"resolution_code": "done", "root_cause": "none"},
                    headers=AGENT).status_code == 200
    assert api.post(f"/tickets/{tid}/confirm", json={"rating": 5},
                    headers={"X-Customer-Token": token}).status_code == 200
    return tid, token


async def worker_identities(stack: Stack, ticket_ids: list[str]) -> set[str]:
    client = await Client.connect(stack.config.temporal_address, namespace=NAMESPACE)
    identities: set[str] = set()
    for tid in ticket_ids:
        history = await client.get_workflow_handle(tid).fetch_history()
        for event in history.events:
            if event.HasField("workflow_task_completed_event_attributes"):
                identities.add(event.workflow_task_completed_event_attributes.identity)
    return identities


def test_two_workers_share_tickets_and_lose_none_when_one_dies(two_workers: Stack) -> None:
    api = httpx.Client(base_url=two_workers.config.api_url, timeout=60)
    team = f"scale-{uuid.uuid4().hex[:6]}"
    first = [lifecycle(api, team)[0] for _ in range(16)]
    assert len(asyncio.run(worker_identities(two_workers, first))) == 2  # both workers took tickets

    two_workers.kill("worker")  # SIGKILL one of them mid-stream
    second = [lifecycle(api, team)[0] for _ in range(8)]

    def all_closed() -> None:
        page = api.get("/tickets", params={"team": team, "status": "closed", "limit": 200}, headers=AGENT).json()
        assert page["count"] == len(first) + len(second)
    eventually(all_closed, timeout=60, interval=0.5)


def test_a_second_api_instance_serves_the_same_tickets(two_workers: Stack) -> None:
    """API instances are stateless: a ticket created through one is driven through another."""
    from cli.stack import free_port

    other = StackConfig(var_dir=two_workers.config.var_dir, temporal_port=two_workers.config.temporal_port,
                        anvil_port=two_workers.config.anvil_port, api_port=free_port(), namespace=NAMESPACE)
    second_api = Stack(other)
    second_api.start_api()
    try:
        a = httpx.Client(base_url=two_workers.config.api_url, timeout=60)
        b = httpx.Client(base_url=other.api_url, timeout=60)
        body = {"ticket_id": f"SC-{uuid.uuid4().hex[:10]}", "customer_ref": "c", "channel": "app",
                "category": "after_sales", "priority": "P3", "team": "after-sales", "summary": "Two APIs"}
        created = a.post("/tickets", json=body, headers=AGENT)
        assert b.post("/tickets", json=body, headers=AGENT).status_code == 200  # idempotent across instances
        tid, token = created.json()["ticket"]["ticket_id"], created.json()["customer_token"]
        assert b.post(f"/tickets/{tid}/respond", json={}, headers=AGENT).json()["status"] == "acknowledged"
        assert a.get(f"/tickets/{tid}", headers=AGENT).json()["status"] == "acknowledged"
        b.post(f"/tickets/{tid}/resolve", json={"resolution_code": "x", "root_cause": "y"}, headers=AGENT)
        assert a.post(f"/tickets/{tid}/confirm", json={"rating": 3},
                      headers={"X-Customer-Token": token}).status_code == 200
    finally:
        second_api.stop()
