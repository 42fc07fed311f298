"""Horizontal scale: two worker processes on one task queue share tickets and lose none (and double
none) when one dies with lifecycles in flight; API instances keep no state. Runs on a non-default
Temporal namespace, as a cluster would."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

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


def lifecycle(api: httpx.Client, team: str, ticket_id: str | None = None,
              after_respond: Callable[[], object] | None = None) -> tuple[str, str]:
    body = {"ticket_id": ticket_id or f"SC-{uuid.uuid4().hex[:10]}", "customer_ref": uuid.uuid4().hex,
            "channel": "branch", "category": "after_sales", "priority": "P2", "team": team, "summary": "Scale test"}
    created = api.post("/tickets", json=body, headers=AGENT)
    assert created.status_code == 201, created.text
    tid, token = created.json()["ticket"]["ticket_id"], created.json()["customer_token"]
    assert api.post(f"/tickets/{tid}/respond", json={}, headers=AGENT).status_code == 200
    if after_respond is not None:
        after_respond()
    assert api.post(f"/tickets/{tid}/resolve", json={"resolution_code": "done", "root_cause": "none"},
                    headers=AGENT).status_code == 200
    assert api.post(f"/tickets/{tid}/confirm", json={"rating": 5},
                    headers={"X-Customer-Token": token}).status_code == 200
    return tid, token


async def task_workers(stack: Stack, ticket_ids: list[str]) -> dict[str, list[str]]:
    """Per ticket, the identity of the worker that completed each of its workflow tasks, in order."""
    client = await Client.connect(stack.config.temporal_address, namespace=NAMESPACE)
    identities: dict[str, list[str]] = {}
    for tid in ticket_ids:
        history = await client.get_workflow_handle(tid).fetch_history()
        identities[tid] = [e.workflow_task_completed_event_attributes.identity for e in history.events
                           if e.HasField("workflow_task_completed_event_attributes")]
    return identities


async def workflow_statuses(stack: Stack, ticket_ids: list[str]) -> dict[str, WorkflowExecutionStatus | None]:
    client = await Client.connect(stack.config.temporal_address, namespace=NAMESPACE)
    return {tid: (await client.get_workflow_handle(tid).describe()).status for tid in ticket_ids}


def test_two_workers_share_tickets_and_lose_none_when_one_dies_mid_lifecycle(two_workers: Stack) -> None:
    api = httpx.Client(base_url=two_workers.config.api_url, timeout=120)
    team = f"scale-{uuid.uuid4().hex[:6]}"
    doomed = two_workers.procs["worker"]
    before_kill: list[str] = []
    finished_before_kill: list[str] = []
    held = 12  # lifecycles that wait after their first response until the kill: surely in flight
    responded = threading.Semaphore(0)
    killed = threading.Event()
    lock = threading.Lock()

    def hold() -> None:
        responded.release()
        killed.wait(60)

    def one_lifecycle(i: int) -> str:
        # Lifecycles overlap: each creates its ticket, then runs it through while others start.
        time.sleep(i * 0.15)
        tid = f"SC-{uuid.uuid4().hex[:10]}"
        with lock:
            if doomed.poll() is None:
                before_kill.append(tid)
        lifecycle(api, team, tid, after_respond=hold if i < held else None)
        with lock:
            if doomed.poll() is None:
                finished_before_kill.append(tid)
        return tid

    with ThreadPoolExecutor(held + 4) as pool:
        futures = [pool.submit(one_lifecycle, i) for i in range(32)]
        for _ in range(held):
            responded.acquire()  # both workers have run tasks of these tickets
        with lock:
            two_workers.kill("worker")  # SIGKILL one of them with lifecycles in flight
        killed.set()
        tickets = [f.result() for f in futures]  # every command of every lifecycle succeeded

    in_flight = [t for t in before_kill if t not in finished_before_kill]
    assert in_flight, "the kill should have fallen while lifecycles were running"
    identities = asyncio.run(task_workers(two_workers, tickets))
    doomed_identity = f"{doomed.pid}@"
    # Both workers ran tickets, and tickets the dead worker was running were finished by the other.
    assert any(w.startswith(doomed_identity) for ws in identities.values() for w in ws)
    moved = [t for t in in_flight
             if identities[t] and identities[t][0].startswith(doomed_identity)
             and not identities[t][-1].startswith(doomed_identity)]
    assert moved, identities

    def all_closed() -> None:
        page = api.get("/tickets", params={"team": team, "status": "closed", "limit": 200}, headers=AGENT).json()
        assert page["count"] == len(tickets)
    eventually(all_closed, timeout=60, interval=0.5)
    statuses = asyncio.run(workflow_statuses(two_workers, tickets))
    assert set(statuses.values()) == {WorkflowExecutionStatus.COMPLETED}, statuses
    for tid in tickets:
        view = api.get(f"/tickets/{tid}", headers=AGENT).json()
        # None lost, none doubled: each step of each lifecycle exactly once.
        assert Counter(m["kind"] for m in view["milestones"]) == Counter(
            ["opened", "first_response", "resolved", "confirmed"]), (tid, view["milestones"])
        assert view["status"] == "closed" and view["rating"] == 5


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
