"""Meetings and suppliers over real HTTP: uvicorn + the Temporal dev server + worker, as `make run`.

Needs the wiring described in docs/governance.md (routers in api/main.py, workflows and activities in
worker.py, tables in readmodel/db.py, the 409 in ticket creation, a `supplier_manager` dev key).
"""

from __future__ import annotations

import uuid

import httpx

from tests.api.test_tickets_api import new_ticket
from tests.helpers import eventually

AGENT = {"X-API-Key": "dev-agent"}
QUALITY = {"X-API-Key": "dev-quality"}
SUPERVISOR = {"X-API-Key": "dev-supervisor"}
SUPPLIER_MANAGER = {"X-API-Key": "dev-supplier"}


def test_meeting_over_http(api: httpx.Client) -> None:
    ticket = api.post("/tickets", json=new_ticket(), headers=AGENT).json()["ticket"]["ticket_id"]
    body = {"title": "Hand-off gap", "problem": "Parcels lost between teams", "category": "after_sales",
            "departments": ["after-sales", "logistics"], "linked_tickets": [ticket]}
    assert api.post("/meetings", json=body).status_code == 401
    assert api.post("/meetings", json=body, headers=AGENT).status_code == 403
    r = api.post("/meetings", json={**body, "departments": []}, headers=QUALITY)
    assert r.status_code == 422 and any("departments" in e["loc"] for e in r.json()["detail"])
    created = api.post("/meetings", json=body, headers=QUALITY)
    assert created.status_code == 201, created.text
    mid = created.json()["meeting_id"]
    assert [m["kind"] for m in created.json()["milestones"]] == ["meeting_opened", "ticket_linked"]
    again = api.post("/meetings", json={**body, "meeting_id": mid}, headers=QUALITY)
    assert again.status_code == 409 and mid in again.json()["detail"]

    r = api.post(f"/meetings/{mid}/analyses", json={"department": "marketing", "analysis": "x"}, headers=QUALITY)
    assert r.status_code == 409 and "marketing" in r.json()["detail"]
    r = api.post(f"/meetings/{mid}/analyses", json={"department": "logistics", "analysis": "No handover scan"},
                 headers=QUALITY)
    assert r.status_code == 200 and r.json()["submitted"] == ["logistics"]
    r = api.post(f"/meetings/{mid}/solution", json={"root_cause": "handoff_gap", "actions": []}, headers=QUALITY)
    assert r.status_code == 422 and "actions" in str(r.json()["detail"])
    solution = {"root_cause": "handoff_gap",
                "actions": [{"action": "Scan at hand-over", "owner": "logistics-head", "due": "2026-12-31"}]}
    r = api.post(f"/meetings/{mid}/solution", json=solution, headers=QUALITY)
    assert r.status_code == 200 and r.json()["status"] == "verifying"
    kinds = [m["kind"] for m in r.json()["milestones"]]
    assert "solution_sent_to_ticket" in kinds and kinds[-1] == "verification_started"
    assert api.post(f"/meetings/{mid}/solution", json=solution, headers=QUALITY).status_code == 409
    assert api.get("/meetings/M-nope-000", headers=QUALITY).status_code == 404

    def listed() -> None:
        page = api.get("/meetings", params={"ticket_id": ticket}, headers=AGENT).json()
        assert [m["id"] for m in page["data"]] == [mid] and page["data"][0]["status"] == "verifying"
    eventually(listed)


def test_supplier_exit_over_http(api: httpx.Client) -> None:
    sid = f"sup-{uuid.uuid4().hex[:8]}"
    body = {"supplier_id": sid, "name": "CleanCo", "contract_value": 1_000_000, "currency": "CNY"}
    assert api.post("/suppliers", json=body, headers=SUPPLIER_MANAGER).status_code == 403
    r = api.post("/suppliers", json={**body, "currency": "yuan"}, headers=QUALITY)
    assert r.status_code == 422 and any("currency" in e["loc"] for e in r.json()["detail"])
    assert api.post("/suppliers", json=body, headers=QUALITY).status_code == 201
    assert api.post("/suppliers", json=body, headers=QUALITY).status_code == 409
    open_ticket = api.post("/tickets", json=new_ticket(supplier=sid), headers=AGENT).json()["ticket"]["ticket_id"]

    def deduct(incident: str, severity: str = "major") -> httpx.Response:
        return api.post(f"/suppliers/{sid}/deductions", json={"incident_id": incident, "severity": severity},
                        headers=QUALITY)

    r = deduct("INC-x", "unknown")
    assert r.status_code == 422 and ["body", "severity"] in [e["loc"] for e in r.json()["detail"]]
    assert api.post("/suppliers/sup-nope/deductions", json={"incident_id": "INC-y", "severity": "minor"},
                    headers=QUALITY).status_code == 404
    for i in range(5):
        assert deduct(f"{sid}-INC-{i}").status_code == 201
    dup = deduct(f"{sid}-INC-0")
    assert dup.status_code == 200 and dup.json()["duplicate"] is True
    assert api.post(f"/suppliers/{sid}/appeal", json={"reason": "early"}, headers=SUPPLIER_MANAGER).status_code == 409
    r = deduct(f"{sid}-INC-5", "minor")
    assert r.status_code == 201 and r.json()["exit_started"] is True and r.json()["total"] == 105_000

    assert api.post(f"/suppliers/{sid}/appeal", json={"reason": "x"}, headers=QUALITY).status_code == 403
    r = api.post(f"/suppliers/{sid}/appeal", json={"reason": "courier's fault"}, headers=SUPPLIER_MANAGER)
    assert r.status_code == 200 and r.json()["status"] == "appealed"
    r = api.post(f"/suppliers/{sid}/appeal/decision", json={"upheld": True, "reason": "confirmed"}, headers=QUALITY)
    assert r.status_code == 200 and r.json()["status"] == "exited"

    def refused() -> None:
        r = api.post("/tickets", json=new_ticket(supplier=sid), headers=AGENT)
        assert r.status_code == 409 and "supplier" in r.json()["detail"]
    eventually(refused)

    def listed() -> None:
        assert api.get(f"/suppliers/{sid}/open-tickets", headers=SUPERVISOR).json() == [open_ticket]
    eventually(listed)
    path = f"/suppliers/{sid}/tickets/{open_ticket}/reassign"
    assert api.post(path, json={"to_team": "in-house"}, headers=QUALITY).status_code == 403
    r = api.post(path, json={"to_team": "in-house"}, headers=SUPERVISOR)
    assert r.status_code == 200 and r.json()["status"] == "terminated"
    assert api.post(path, json={"to_team": "in-house"}, headers=SUPERVISOR).status_code == 409
    assert api.get(f"/tickets/{open_ticket}", headers=AGENT).json()["team"] == "in-house"
    assert deduct(f"{sid}-INC-late", "minor").json()["total"] == 110_000  # still recorded after exit

    def ledger() -> None:
        rows = api.get(f"/suppliers/{sid}/deductions", headers=SUPPLIER_MANAGER).json()
        assert len(rows) == 7 and rows[-1]["after_exit"] is True
        page = api.get("/suppliers", params={"status": "terminated"}, headers=QUALITY).json()
        assert sid in [s["id"] for s in page["data"]]
    eventually(ledger)
