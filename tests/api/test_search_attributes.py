"""Staff find tickets in the Temporal UI by status, priority, team and breach: the dev server that
`make run` starts registers the search attributes, the API sets them at start and the workflow keeps
them current. Checked with the Temporal client's list query, as the UI asks."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio.client import Client

from cli.stack import Stack
from settings import ROOT
from workflows.names import TICKET_SEARCH_ATTRIBUTES

AGENT = {"X-API-Key": "dev-agent"}
ADMIN = {"X-API-Key": "dev-admin"}
CUSTOMER_REF = "sa-customer-0042@example.com"


async def _found(client: Client, query: str, wait: float = 30) -> list[str]:
    """Workflow ids the list query answers, once it answers any (visibility lags a little)."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        ids = [w.id async for w in client.list_workflows(query)]
        if ids or asyncio.get_running_loop().time() > deadline:
            return ids
        await asyncio.sleep(0.3)


async def test_tickets_are_found_by_their_search_attributes(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.config.api_url, timeout=60) as api:
        await _lifecycle(stack, api)


async def _lifecycle(stack: Stack, api: httpx.AsyncClient) -> None:
    tid = f"T-SA-{uuid.uuid4().hex[:8]}"
    body = {"ticket_id": tid, "customer_ref": CUSTOMER_REF, "channel": "app", "category": "after_sales",
            "priority": "P1", "team": "billing", "summary": "Card charged twice", "description": "secret words"}
    assert (await api.post("/tickets", json=body, headers=AGENT)).status_code == 201
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    mine = f'WorkflowId = "{tid}"'

    # Set at start by the API.
    assert await _found(client, f'{mine} AND TicketPriority = "P1" AND TicketStatus = "open" '
                                f'AND TicketTeam = "billing" AND TicketBreached = false') == [tid]
    # Kept current by the workflow.
    assert (await api.post(f"/tickets/{tid}/respond", json={"message": "on it"}, headers=AGENT)).status_code == 200
    assert await _found(client, f'{mine} AND TicketStatus = "acknowledged"') == [tid]
    assert (await api.post(f"/tickets/{tid}/priority", json={"priority": "P2"}, headers=AGENT)).status_code == 200
    assert await _found(client, f'{mine} AND TicketPriority = "P2"') == [tid]
    # A resolution target of under two seconds: the breach shows.
    policy = (ROOT / "config" / "demo-policy.toml").read_text(encoding="utf-8").replace(
        "resolution_hours = 0.02", "resolution_hours = 0.0005")
    assert (await api.put(f"/tickets/{tid}/policy", json={"policy_toml": policy}, headers=ADMIN)).status_code == 200
    assert await _found(client, f'{mine} AND TicketBreached = true') == [tid]
    assert await _found(client, 'TicketPriority = "P1"', wait=0) == []  # not under its old priority

    # Never customer data: only our four attributes carry anything of the ticket.
    described = await client.get_workflow_handle(tid).describe()
    ours = {key.name for key in TICKET_SEARCH_ATTRIBUTES}
    custom = {pair.key.name: pair.value for pair in described.typed_search_attributes}
    assert ours <= set(custom), custom
    for name, value in custom.items():
        if name not in ours:
            assert name.startswith(("Temporal", "BuildIds")), name  # the server's and SDK's own
        assert CUSTOMER_REF not in str(value) and "secret" not in str(value)
