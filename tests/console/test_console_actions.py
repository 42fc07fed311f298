"""A desk lead's actions from the ticket page, over real HTTP against the stack: they reach the ticket
workflow through the API's door, with the API's rules, and the workflow's refusals come back as pages."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from cli.stack import Stack
from tests.console.people import Person, new_person, ticket_body
from tests.helpers import eventually


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.api_url


def test_escalate_change_priority_and_cancel(base: str) -> None:
    lead: Person = new_person(base, "supervisor")
    agent: Person = new_person(base, "agent")
    created = httpx.post(f"{base}/tickets", json=ticket_body(), headers={"X-API-Key": "dev-agent"}, timeout=60)
    assert created.status_code == 201, created.text
    ticket = created.json()["ticket"]["ticket_id"]
    page = f"/console/tickets/{ticket}"

    answer = agent.post(f"{page}/priority", {"priority": "P2", "reason": "VIP customer"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{page}?done=priority"
    shown = agent.get(answer.headers["location"]).text
    assert 'id="ticket-priority">P2<' in shown and "Priority changed." in shown
    assert "Cancel the ticket" not in shown  # agents may not cancel: the form is not offered ...
    assert agent.post(f"{page}/cancel", {"reason": "spam"}).status_code == 403  # ... nor accepted

    answer = lead.post(f"{page}/escalate", {"to_team": "billing", "reason": "Refund needed"})
    assert answer.status_code == 303
    view = httpx.get(f"{base}/tickets/{ticket}", headers={"X-API-Key": "dev-auditor"}, timeout=30).json()
    assert view["team"] == "billing" and view["priority"] == "P2"
    actors = [m["data"].get("actor") for m in view["milestones"]]
    assert f"agent:{agent.person_id}" in actors and f"supervisor:{lead.person_id}" in actors

    bad = lead.post(f"{page}/priority", {"priority": "P9"})
    assert bad.status_code == 422 and "priority" in bad.text
    bad = lead.post(f"{page}/escalate", {"to_team": "billing", "reason": ""})
    assert bad.status_code == 422 and "reason" in bad.text

    answer = lead.post(f"{page}/cancel", {"reason": "duplicate"})
    assert answer.status_code == 303
    shown = lead.get(f"{page}?done=cancel").text
    assert re.search(r'id="ticket-status">cancelled<', shown) and "Ticket cancelled." in shown
    assert 'action="/console/tickets/' not in shown  # a closed ticket offers no actions
    again = lead.post(f"{page}/assign", {"assignee": "agent-li"})
    assert again.status_code == 409 and "closed" in again.text  # the workflow's answer, as a page
    assert lead.get("/console/tickets/T-does-not-exist").status_code == 404


def test_exit_process_appeal_and_decision(base: str) -> None:
    sid = f"sup-{uuid.uuid4().hex[:8]}"
    quality_key = {"X-API-Key": "dev-quality"}
    body = {"supplier_id": sid, "name": "LateCo", "contract_value": 1_000_000, "currency": "CNY"}
    assert httpx.post(f"{base}/suppliers", json=body, headers=quality_key, timeout=60).status_code == 201
    for i in range(6):  # 6 x 2 % = 12 %: over the 10 % line, the exit notice starts
        answer = httpx.post(f"{base}/suppliers/{sid}/deductions", headers=quality_key, timeout=60,
                            json={"incident_id": f"{sid}-{i}", "severity": "major"})
        assert answer.status_code == 201, answer.text
    manager = new_person(base, "supplier_manager", sid)
    quality = new_person(base, "quality")
    page = f"/console/suppliers/{sid}"

    def status_is(who: Person, status: str) -> str:
        text = who.get(page).text
        assert f'id="supplier-status">{status}<' in text, text[:200]
        return text

    text = ""

    def noticed() -> None:
        nonlocal text
        text = status_is(manager, "exit notice (appeal window)")
    eventually(noticed, timeout=30)
    assert "12.0 % of the contract" in text and "File the appeal" in text
    assert "Decide the appeal" not in text  # the committee's form is not the manager's
    assert manager.post(f"{page}/appeal", {"reason": ""}).status_code == 422
    answer = manager.post(f"{page}/appeal", {"reason": "Two incidents were the courier's"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{page}?done=appeal"
    eventually(lambda: status_is(quality, "appealed"), timeout=30)
    assert manager.post(f"{page}/decision", {"decision": "granted", "reason": "x"}).status_code == 403
    assert quality.post(f"{page}/decision", {"decision": "maybe", "reason": "x"}).status_code == 422
    answer = quality.post(f"{page}/decision", {"decision": "granted", "reason": "Courier at fault"})
    assert answer.status_code == 303
    eventually(lambda: status_is(manager, "active"), timeout=30)
    assert "appeal granted, exit withdrawn" in manager.get(page).text
    # The workflow refuses a second appeal now that no exit notice is open: a page with its reason.
    again = manager.post(f"{page}/appeal", {"reason": "again"})
    assert again.status_code == 409 and 'id="problem"' in again.text
