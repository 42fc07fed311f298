"""Certificates leak no personal data: the customer reference only as its keyed hash, no free text.

Through the real stack: a ticket with recognisable personal data goes through text-carrying steps,
its milestones get anchored, and then every form of its certificate (JSON, SVG, PNG, the public
verification page and its JSON) is searched for the raw strings.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from domain.milestones import customer_match_hash, customer_ref_hash, salted_hash
from settings import Settings
from tests.helpers import eventually
from tests.security.helpers import key

CUSTOMER_REF = "Jane Q. Public <jane.public@example.org> +49 170 5550123"
SUMMARY = "Dishwasher of Jane Public leaks at Lindenstrasse 7"
DESCRIPTION = "Customer Jane Public, IBAN DE89370400440532013000, prefers calls after 6"
NOTE = "Spoke to Jane Public on +49 170 5550123"
RESPONSE = "Dear Jane, a technician visits Lindenstrasse 7 tomorrow"
# Whole strings and the fragments that identify the person on their own.
PERSONAL = [CUSTOMER_REF, SUMMARY, DESCRIPTION, NOTE, RESPONSE, "Jane", "jane.public@example.org", "5550123",
            "Lindenstrasse", "DE89370400440532013000"]


@pytest.fixture(scope="module")
def certified(api: httpx.Client) -> dict[str, Any]:
    ticket_id = f"PII-{uuid.uuid4().hex[:10]}"
    body = {"ticket_id": ticket_id, "customer_ref": CUSTOMER_REF, "channel": "email", "category": "after_sales",
            "team": "after-sales", "summary": SUMMARY, "description": DESCRIPTION}
    created = api.post("/tickets", json=body, headers=key("agent"))
    assert created.status_code == 201, created.text
    for step, payload in (("notes", {"text": NOTE}), ("respond", {"message": RESPONSE})):
        assert api.post(f"/tickets/{ticket_id}/{step}", json=payload, headers=key("agent")).status_code == 200

    cert: dict[str, Any] = {}

    def anchored() -> None:
        response = api.get(f"/tickets/{ticket_id}/certificate", headers=key("auditor"))
        assert response.status_code == 200, response.text
        cert.update(response.json())
        assert len(cert["milestones"]) >= 3  # opened, note, first response: all anchored
    eventually(anchored, timeout=60, interval=0.5)
    return {"ticket_id": ticket_id, "cert": cert, "token": created.json()["customer_token"]}


def _assert_clean(text: str, where: str) -> None:
    leaked = [s for s in PERSONAL if s.lower() in text.lower()]
    assert not leaked, f"{where} carries personal data: {leaked}"


def test_certificate_json_has_only_the_salted_customer_hash(certified: dict[str, Any]) -> None:
    text = json.dumps(certified["cert"], ensure_ascii=False)
    _assert_clean(text, "certificate JSON")
    secret = Settings().secret_key.get_secret_value().encode()  # the stack runs with this environment
    # The customer's hash is bound to this ticket; the server's cross-ticket match key never shows.
    assert customer_ref_hash(secret, certified["ticket_id"], CUSTOMER_REF) in text
    assert customer_match_hash(secret, CUSTOMER_REF) not in text
    # Free text is there only as keyed hashes, never in the clear or as a plain (guessable) hash.
    for free_text in (NOTE, RESPONSE):
        assert salted_hash(secret, free_text, "text") in text
    assert "customer_ref\"" not in text and "summary" not in text and "description" not in text


def test_certificate_qr_images_and_customer_copy_are_clean(api: httpx.Client, certified: dict[str, Any]) -> None:
    ticket_id, token = certified["ticket_id"], certified["token"]
    svg = api.get(f"/tickets/{ticket_id}/certificate.svg", headers={"X-Customer-Token": token})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    _assert_clean(svg.text, "certificate SVG")
    png = api.get(f"/tickets/{ticket_id}/certificate.png", headers={"X-Customer-Token": token})
    assert png.status_code == 200
    _assert_clean(png.content.decode("latin-1"), "certificate PNG")
    customer_copy = api.get(f"/tickets/{ticket_id}/certificate", headers={"X-Customer-Token": token})
    assert customer_copy.status_code == 200
    _assert_clean(customer_copy.text, "customer's certificate")
    assert customer_copy.headers["cache-control"] == "private, no-store"


def test_public_verification_page_is_clean(api: httpx.Client, certified: dict[str, Any]) -> None:
    from domain.certificate import certificate_digest

    ticket_id, digest = certified["ticket_id"], certificate_digest(certified["cert"])
    page = api.get(f"/verify/{ticket_id}", params={"d": digest})
    assert page.status_code == 200 and 'data-verdict="verified"' in page.text, page.text[:500]
    _assert_clean(page.text, "verification page")
    as_json = api.get(f"/verify/{ticket_id}", params={"d": digest}, headers={"Accept": "application/json"})
    assert as_json.status_code == 200
    _assert_clean(as_json.text, "verification JSON")
    # Without the digest the public route reveals nothing about the ticket.
    bare = api.get(f"/verify/{ticket_id}", headers={"Accept": "application/json"})
    assert bare.status_code == 404 and bare.json() == {"detail": "no certificate matches this link"}
