"""What the public may learn from the verification routes: nothing without the certificate's digest.

A wrong or missing digest must look exactly like an unknown ticket id (status, body and headers,
as HTML and as JSON), a public certificate names nobody, and only tickets get certificates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from certificates.issue import NotCertifiable, build_certificate, signer_for
from domain.certificate import certificate_digest
from domain.milestones import Milestone as Link
from domain.milestones import MilestoneKind as K
from domain.milestones import format_time, new_milestone
from readmodel.db import get_engine
from readmodel.models import Milestone, Ticket
from settings import get_settings
from tests.certificates.webapp import app
from tests.certificates.world import World, anchor_pending, copy_world

NEW_TICKET = "T-CERT-PUB1"
SUPPLIER = "SUP-ACME"
MEETING = "MTG-0001"
ASSIGNEE = "alice.chen"  # looks like a code, but names a person
STAFF = {"X-API-Key": "dev-auditor"}
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}


def _chain(session: Session, subject: str, steps: list[tuple[str, dict[str, str]]]) -> None:
    at = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    previous: Link | None = None
    for kind, data in steps:
        at += timedelta(minutes=3)
        m = new_milestone(subject, previous, kind, at, data)
        session.add(Milestone(subject=subject, seq=m.seq, kind=m.kind, at=format_time(m.at), prev=m.prev,
                              leaf=m.leaf, data=json.dumps(m.data, sort_keys=True, separators=(",", ":"))))
        previous = m
    session.commit()


@pytest.fixture(scope="module")
def mine(world: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    mine = copy_world(world, tmp_path_factory.mktemp("public"))
    with Session(get_engine(mine.db_url)) as session:
        now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
        session.add(Ticket(id=NEW_TICKET, status="open", priority="P2", category="after_sales", team="after-sales",
                           channel="app", customer_ref_hash="0x" + "ab" * 32, summary="s", description="d",
                           created_at=now, updated_at=now))
        session.commit()
        _chain(session, NEW_TICKET, [
            (K.OPENED, {"channel": "app", "category": "after_sales", "priority": "P2", "team": "after-sales",
                        "customer_ref_hash": "0x" + "cd" * 32, "supplier": ""}),
            (K.REPEAT_FLAGGED, {"previous_ticket": world.other}),
            (K.ASSIGNED, {"assignee": ASSIGNEE, "actor": "agent#0"}),
        ])
        # Governance chains live in the same tables and batches, but are not tickets.
        _chain(session, SUPPLIER, [("supplier_registered", {"contract_value": "100000"})])
        _chain(session, MEETING, [("meeting_opened", {"topic_code": "handoff"})])
    mine.batches = [899]  # batch 900: clear of the numbers other modules anchor in the shared registry
    anchor_pending(mine)
    return mine


@pytest.fixture(scope="module")
def client(mine: World) -> Iterator[TestClient]:
    app.dependency_overrides[get_settings] = lambda: mine.settings()
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.dependency_overrides.clear()


def _digest(mine: World, ticket_id: str) -> str:
    with Session(get_engine(mine.db_url)) as session:
        return certificate_digest(build_certificate(session=session, ticket_id=ticket_id,
                                                    signer=signer_for(mine.settings())))


def _answer(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    response = client.get(path, headers=headers)
    return response.status_code, dict(response.headers), response.content


@pytest.mark.parametrize("accept", [JSON, HTML], ids=["json", "html"])
def test_wrong_or_missing_digest_looks_like_an_unknown_id(client: TestClient, mine: World,
                                                         accept: dict[str, str]) -> None:
    wrong = "0x" + "00" * 32
    unknown = _answer(client, f"/verify/T-NO-SUCH-TICKET?d={wrong}", accept)
    assert unknown[0] == 404
    for path in (f"/verify/{mine.ticket}?d={wrong}",  # known ticket, wrong digest
                 f"/verify/{mine.ticket}",  # no digest
                 f"/verify/{mine.ticket}?d=nonsense",  # malformed digest
                 "/verify/T-NO-SUCH-TICKET",
                 f"/verify/{SUPPLIER}?d={wrong}", f"/verify/{MEETING}?d={wrong}"):
        assert _answer(client, path, accept) == unknown, path
    body = unknown[2].decode()
    assert "current_digest" not in body and mine.ticket not in body


def test_the_right_digest_still_opens_the_certificate(client: TestClient, mine: World) -> None:
    digest = _digest(mine, mine.ticket)
    response = client.get(f"/verify/{mine.ticket}?d={digest}", headers=JSON)
    assert response.status_code == 200 and response.json()["digest"] == digest
    page = client.get(f"/verify/{mine.ticket}?d={digest}", headers=HTML)
    assert page.status_code == 200 and 'data-verdict="verified"' in page.text


def test_public_certificate_names_nobody(client: TestClient, mine: World) -> None:
    response = client.get(f"/tickets/{NEW_TICKET}/certificate", headers=STAFF)
    assert response.status_code == 200, response.text
    cert = response.json()
    text = json.dumps(cert)
    assert ASSIGNEE not in text and mine.other not in text
    by_kind = {m["kind"]: m for m in cert["milestones"]}
    for kind in ("repeat_flagged", "assigned"):
        assert by_kind[kind].get("withheld") is True and "data" not in by_kind[kind]
    page = client.get(f"/verify/{NEW_TICKET}?d={cert['digest']}", headers=HTML)
    assert page.status_code == 200 and ASSIGNEE not in page.text and mine.other not in page.text


@pytest.mark.parametrize("subject", [SUPPLIER, MEETING])
def test_only_tickets_get_certificates(client: TestClient, mine: World, subject: str) -> None:
    with Session(get_engine(mine.db_url)) as session, pytest.raises(NotCertifiable):
        build_certificate(session=session, ticket_id=subject, signer=signer_for(mine.settings()))
    assert client.get(f"/tickets/{subject}/certificate", headers=STAFF).status_code == 404
    assert client.get(f"/tickets/{subject}/certificate.png", headers=STAFF).status_code == 404
