"""The directory of people and their alert inboxes over real HTTP (uvicorn, a SQLite read model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.notify import Notifier, SmtpConfig
from domain.tickets import Notification
from readmodel.db import init_db
from settings import Settings
from tests.alerts.mailbox import mailbox
from tests.helpers import serve_api_with, tmp_db_url

QUALITY = {"X-API-Key": "k-quality"}
HEAD = {"X-API-Key": "k-head"}
AGENT = {"X-API-Key": "k-agent"}
PERSON = {"display_name": "Wang Fang", "email": "wang.fang@after-sales.example", "team": "after-sales",
          "role": "team_head"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    db_url = tmp_db_url(tmp_path)
    init_db(db_url)
    settings = Settings(database_url=db_url, var_dir=tmp_path,  # type: ignore[call-arg]
                        api_keys="k-quality:quality,k-head:team_head:after-sales-head,k-agent:agent,"
                                 "k-other-head:team_head:billing-head,k-loose-head:team_head")  # type: ignore[arg-type]
    with serve_api_with(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, db_url


def test_directory_add_replace_read_and_list(api: tuple[httpx.Client, str]) -> None:
    client, _ = api
    added = client.put("/people/after-sales-head", json=PERSON, headers=QUALITY)
    assert added.status_code == 201 and added.json()["email"] == PERSON["email"]
    moved = client.put("/people/after-sales-head", json={**PERSON, "email": "fang.wang@example.com"}, headers=QUALITY)
    assert moved.status_code == 200 and moved.json()["email"] == "fang.wang@example.com"
    assert client.get("/people/after-sales-head", headers=QUALITY).json()["email"] == "fang.wang@example.com"
    client.put("/people/billing-head", json={**PERSON, "team": "billing"}, headers=QUALITY)
    page = client.get("/people", params={"team": "billing"}, headers=QUALITY).json()
    assert page["count"] == 1 and [p["id"] for p in page["data"]] == ["billing-head"]
    assert client.get("/people", headers=QUALITY).json()["count"] == 2


def test_directory_refuses_bad_input_naming_the_field(api: tuple[httpx.Client, str]) -> None:
    client, _ = api
    for body, field in (({**PERSON, "email": "not-an-address"}, "email"),
                        ({**PERSON, "email": "a@b.c, evil@x.y"}, "email"),
                        ({**PERSON, "role": "emperor"}, "role"),
                        ({**PERSON, "team": "Bad Team!"}, "team"),
                        ({k: v for k, v in PERSON.items() if k != "display_name"}, "display_name"),
                        ({**PERSON, "phone": "123"}, "phone")):
        r = client.put("/people/someone", json=body, headers=QUALITY)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (field, r.text)
    bad_id = client.put("/people/!x", json=PERSON, headers=QUALITY)
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == ["path", "person_id"]
    bad_team = client.get("/people", params={"team": "Bad Team!"}, headers=QUALITY)
    assert bad_team.status_code == 422 and bad_team.json()["detail"][0]["loc"] == ["query", "team"]
    assert client.get("/people/nobody-here", headers=QUALITY).status_code == 404
    assert client.get("/people", headers=QUALITY).json()["count"] == 0  # nothing half-stored


def test_directory_and_inbox_roles(api: tuple[httpx.Client, str]) -> None:
    client, _ = api
    assert client.put("/people/x-head", json=PERSON).status_code == 401
    assert client.put("/people/x-head", json=PERSON, headers={"X-API-Key": "nope"}).status_code == 401
    assert client.put("/people/x-head", json=PERSON, headers=AGENT).status_code == 403
    assert client.put("/people/x-head", json=PERSON, headers=HEAD).status_code == 403
    assert client.get("/people", headers=AGENT).status_code == 403
    assert client.get("/people/x-head/alerts", headers=AGENT).status_code == 403
    assert client.get("/people/x-head/alerts").status_code == 401
    # A team head's key names its person: their own inbox only; a head key naming nobody reads none.
    assert client.get("/people/after-sales-head/alerts", headers={"X-API-Key": "k-other-head"}).status_code == 403
    loose = client.get("/people/after-sales-head/alerts", headers={"X-API-Key": "k-loose-head"})
    assert loose.status_code == 403 and "names no person" in loose.json()["detail"]


def test_inbox_lists_alerts_with_their_deliveries(api: tuple[httpx.Client, str]) -> None:
    client, db_url = api
    assert client.get("/people/after-sales-head/alerts", headers=HEAD).status_code == 404
    client.put("/people/after-sales-head", json=PERSON, headers=QUALITY)
    assert client.get("/people/after-sales-head/alerts", headers=HEAD).json()["count"] == 0
    with mailbox() as box:
        notifier = Notifier(db_url=db_url, smtp=SmtpConfig(host="127.0.0.1", port=box.port))
        for seq in (2, 5, 5):
            ActivityEnvironment().run(notifier.notify, Notification(
                idempotency_key=f"T-INBOX:{seq}", recipient="after-sales-head", subject_id="T-INBOX",
                kind="sla_warning", message=f"warning {seq}", details={"clock": "resolution", "level": "75"}))
        ActivityEnvironment().run(notifier.notify, Notification(
            idempotency_key="T-INBOX:9", recipient="billing-head", subject_id="T-INBOX", kind="escalated",
            message="escalated"))
    inbox = client.get("/people/after-sales-head/alerts", headers=HEAD).json()
    assert inbox["count"] == 2
    assert {a["idempotency_key"]: a["delivered"] for a in inbox["data"]} == {"T-INBOX:2": ["email"],
                                                                             "T-INBOX:5": ["email"]}
    assert inbox["data"][0]["details"] == {"clock": "resolution", "level": "75"}
    # Not in the directory, so no e-mail, but the alert is kept for them.
    other = client.get("/people/billing-head/alerts", headers=QUALITY).json()
    assert other["count"] == 1 and other["data"][0]["delivered"] == []
    paged = client.get("/people/after-sales-head/alerts", params={"limit": 1, "offset": 1}, headers=HEAD).json()
    assert paged["count"] == 2 and len(paged["data"]) == 1
    assert client.get("/people/after-sales-head/alerts", params={"limit": 0}, headers=HEAD).status_code == 422
