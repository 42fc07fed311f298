"""Roles no wider than needed (issue 12, item 9; decision 010).

A supplier manager's key names its suppliers and sees nothing else (404, as for an unknown id); a
replayed ticket creation hands the customer token only to the key that created the ticket, and
never after a revoke. The API runs in process with its own keys, against the stack's Temporal
server, worker and read model (the stack's own API keeps the dev keys the other tests use).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from api.deps import get_temporal
from cli.stack import Stack
from domain.policy import load_policy
from settings import ApiKeyEntry, Settings, get_settings
from temporal.client import connect_temporal
from tests.api.test_tickets_api import new_ticket
from tests.helpers import eventually, serve

QUALITY = {"X-API-Key": "dev-quality"}
SUPERVISOR = {"X-API-Key": "dev-supervisor"}
SID_A, SID_B = f"sup-a-{uuid.uuid4().hex[:6]}", f"sup-b-{uuid.uuid4().hex[:6]}"
KEYS = f"mgr-a:supplier_manager:{SID_A},mgr-none:supplier_manager,agent-1:agent,agent-2:agent,quality-1:quality"


def test_key_entries_keep_the_old_form_and_read_scopes() -> None:
    settings = Settings(api_keys=SecretStr("k1:agent, k2:supplier_manager:sup-a|sup-b ,k3:supplier_manager,"
                                           "k4:supplier_manager:*"))
    assert settings.api_key_entries() == [
        ApiKeyEntry("k1", "agent", None), ApiKeyEntry("k2", "supplier_manager", frozenset({"sup-a", "sup-b"})),
        ApiKeyEntry("k3", "supplier_manager", frozenset()), ApiKeyEntry("k4", "supplier_manager", None)]
    assert settings.api_key_roles() == {"k1": "agent", "k2": "supplier_manager", "k3": "supplier_manager",
                                        "k4": "supplier_manager"}


@pytest.fixture(scope="module")
def scoped(stack: Stack, api: httpx.Client) -> Iterator[httpx.Client]:
    """The API with :data:`KEYS`, on the stack's Temporal and database; two suppliers registered."""
    from api.main import create_app

    c = stack.config
    settings = Settings(api_keys=SecretStr(KEYS), var_dir=c.var_dir, temporal_address=c.temporal_address,
                        temporal_namespace=c.namespace, rpc_url=c.rpc_url, policy_file=c.policy_file)
    try:
        app = create_app()
    finally:
        get_settings.cache_clear()
    client: list[Client] = []

    async def temporal() -> Client:  # connected on the server's own event loop, at first use
        if not client:
            client.append(await connect_temporal(settings, attempts=10))
        return client[0]

    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_temporal] = temporal
    app.state.policy = load_policy(c.policy_file)
    for sid in (SID_A, SID_B):
        body = {"supplier_id": sid, "name": sid, "contract_value": 1_000_000, "currency": "CNY"}
        assert api.post("/suppliers", json=body, headers=QUALITY).status_code == 201
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield http


def test_supplier_manager_sees_only_its_suppliers(scoped: httpx.Client) -> None:
    mine = {"X-API-Key": "mgr-a"}
    assert scoped.get(f"/suppliers/{SID_A}", headers=mine).status_code == 200
    assert scoped.get(f"/suppliers/{SID_A}/deductions", headers=mine).status_code == 200
    # Another supplier answers like one that does not exist: the key cannot learn which ids are real.
    for path in (f"/suppliers/{SID_B}", f"/suppliers/{SID_B}/deductions", "/suppliers/no-such-supplier"):
        answer = scoped.get(path, headers=mine)
        assert answer.status_code == 404, (path, answer.text)
    appeal = scoped.post(f"/suppliers/{SID_B}/appeal", json={"reason": "not ours"}, headers=mine)
    assert appeal.status_code == 404, appeal.text
    # Its own supplier has no exit notice, so the workflow itself refuses: the scope let it through.
    assert scoped.post(f"/suppliers/{SID_A}/appeal", json={"reason": "x"}, headers=mine).status_code == 409

    def listed() -> None:
        page = scoped.get("/suppliers", params={"limit": 200}, headers=mine).json()
        assert [s["id"] for s in page["data"]] == [SID_A] and page["count"] == 1
        everyone = scoped.get("/suppliers", params={"limit": 200}, headers={"X-API-Key": "quality-1"}).json()
        assert {SID_A, SID_B} <= {s["id"] for s in everyone["data"]}
    eventually(listed)


def test_supplier_manager_key_without_suppliers_sees_none(scoped: httpx.Client) -> None:
    none = {"X-API-Key": "mgr-none"}
    answer = scoped.get(f"/suppliers/{SID_A}", headers=none)
    assert answer.status_code == 403 and "names no supplier" in answer.json()["detail"]
    assert scoped.get("/suppliers", headers=none).json()["data"] == []


def test_replayed_create_hands_the_token_to_its_creator_only_and_never_after_a_revoke(
        scoped: httpx.Client, api: httpx.Client) -> None:
    body = new_ticket(ticket_id=None)
    idem = uuid.uuid4().hex
    first = scoped.post("/tickets", json=body, headers={"X-API-Key": "agent-1", "Idempotency-Key": idem})
    assert first.status_code == 201, first.text
    tid, token = first.json()["ticket"]["ticket_id"], first.json()["customer_token"]
    again = scoped.post("/tickets", json=body, headers={"X-API-Key": "agent-1", "Idempotency-Key": idem})
    assert again.status_code == 200 and again.json()["customer_token"] == token  # a lost answer, retried
    other = scoped.post("/tickets", json=body, headers={"X-API-Key": "agent-2", "Idempotency-Key": idem})
    assert other.status_code == 409, other.text  # same role and key, but not this caller's request

    revoked = api.post(f"/tickets/{tid}/customer-token/revoke", headers=SUPERVISOR)  # the stack's API
    assert revoked.status_code == 200, revoked.text
    new_token = revoked.json()["customer_token"]
    assert new_token and new_token != token
    replay = scoped.post("/tickets", json=body, headers={"X-API-Key": "agent-1", "Idempotency-Key": idem})
    assert replay.status_code == 200 and replay.json()["customer_token"] is None, replay.text
