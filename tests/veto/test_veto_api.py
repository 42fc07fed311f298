"""The quality-veto routes over real HTTP, on the whole stack as `make run` starts it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from tests.helpers import eventually

QUALITY = {"X-API-Key": "dev-quality"}
AGENT = {"X-API-Key": "dev-agent"}
AUDITOR = {"X-API-Key": "dev-auditor"}


def test_upheld_complaints_count_once_and_the_third_costs_the_eligibility(api: httpx.Client) -> None:
    team = f"team-{uuid.uuid4().hex[:6]}"
    year = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).year
    start = api.get(f"/veto/{year}/teams/{team}", headers=AUDITOR).json()
    assert (start["count"], start["eligible"], start["threshold"]) == (0, True, 3)
    for ticket in ("T-V-1", "T-V-2", "T-V-2", "T-V-3"):  # T-V-2 upheld twice: counts once
        r = api.post(f"/veto/{year}/teams/{team}/complaints", json={"ticket_id": ticket}, headers=QUALITY)
        assert r.status_code == 202, r.text
        assert r.json() == {"source_key": f"{ticket}:upheld", "counted_in": f"veto-{team}-{year}"}

    def lost() -> None:
        status = api.get(f"/veto/{year}/teams/{team}", headers=AUDITOR).json()
        assert (status["count"], status["eligible"]) == (3, False) and status["crossed_at"]
        assert [c["ticket_id"] for c in status["complaints"]] == ["T-V-1", "T-V-2", "T-V-3"]
    eventually(lost, timeout=30, interval=0.5)
    listed = api.get(f"/veto/{year}", params={"limit": 200}, headers=AUDITOR).json()
    assert any(t["team"] == team and not t["eligible"] for t in listed["data"])

    def alerted_once() -> None:
        inbox = api.get("/people/quality-committee/alerts", params={"limit": 200}, headers=QUALITY).json()
        assert [a["subject_id"] for a in inbox["data"]].count(f"veto-{team}-{year}") == 1
    eventually(alerted_once, timeout=30, interval=0.5)


def test_veto_routes_refuse_what_they_must(api: httpx.Client) -> None:
    year = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).year
    path = f"/veto/{year}/teams/after-sales/complaints"
    assert api.post(path, json={"ticket_id": "T-V-9"}).status_code == 401
    assert api.post(path, json={"ticket_id": "T-V-9"}, headers=AGENT).status_code == 403
    for body, field in (({}, "ticket_id"), ({"ticket_id": "!"}, "ticket_id"), ({"ticket_id": "T-V-9", "x": 1}, "x")):
        r = api.post(path, json=body, headers=QUALITY)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text
    past = api.post(f"/veto/{year - 1}/teams/after-sales/complaints", json={"ticket_id": "T-V-9"}, headers=QUALITY)
    assert past.status_code == 422 and past.json()["detail"][0]["loc"] == ["path", "year"]
    assert api.get(f"/veto/{year}/teams/Bad Team", headers=AUDITOR).status_code == 422
    assert api.get("/veto/1999", headers=AUDITOR).status_code == 422
    assert api.get(f"/veto/{year}", headers={"X-API-Key": "dev-merchant"}).status_code == 403
