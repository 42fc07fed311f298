"""Erasing a piece of feedback on the customer's request (personal-data law), on the whole stack over
real HTTP: the words and contact leave the API and the database file, the reference still answers with
its status, an audit row names who erased what and when, and the anchored evidence still verifies."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3

from certificates.verify import verify_certificate
from cli.stack import Stack
from domain.certificate_checks import overall_verdict
from tests.feedback.test_feedback_stack import AGENT, QUALITY, _contact, _triaged
from tests.helpers import eventually

AUDITOR = {"X-API-Key": "dev-auditor"}
ADMIN = {"X-API-Key": "dev-admin"}


def _files(stack: Stack) -> bytes:
    """The read model's bytes as they are on disk: the file and its write-ahead log."""
    db = stack.config.var_dir / "qualitrail.db"
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def _sealed(stack: Stack, ref: str) -> str:
    with sqlite3.connect(stack.config.var_dir / "qualitrail.db") as conn:
        value: str = conn.execute("SELECT sealed FROM feedback WHERE ref = ?", (ref,)).fetchone()[0]
        return value


def _texts(api: httpx.Client, ticket_id: str) -> dict[str, str | None]:
    record = api.get(f"/tickets/{ticket_id}/record", headers=QUALITY).json()
    return {t["kind"]: t["text"] for e in record["entries"] for t in e["texts"]}


def _certificate(api: httpx.Client, stack: Stack, ticket_id: str) -> dict[str, Any]:
    cert = api.get(f"/tickets/{ticket_id}/certificate", headers=AUDITOR)
    assert cert.status_code == 200, cert.text
    verdict = overall_verdict(verify_certificate(cert.json(), w3=Web3(Web3.HTTPProvider(stack.config.rpc_url)),
                                                 min_confirmations=0))
    assert verdict.ok, verdict.headline
    body: dict[str, Any] = cert.json()
    return body


def test_erasure_destroys_words_and_contact_keeps_status_audit_and_evidence(api: httpx.Client,
                                                                           stack: Stack) -> None:
    marker = f"ERASE{uuid.uuid4().hex[:10]}"
    contact = _contact()
    first = f"我要投诉：{marker} 热水器漏水三天没人来修"
    second = f"师傅还是没来 {marker}-NOTE"
    receipt = api.post("/feedback", json={"text": first, "contact": contact}).json()
    status = _triaged(api, receipt)
    assert status["outcome"] == "ticket" and status["erased_at"] is None
    ticket_id = status["ticket_id"]
    more = api.post("/feedback", json={"text": second, "contact": contact}).json()
    assert _triaged(api, more)["outcome"] == "attached"

    def anchored() -> None:
        record = api.get(f"/tickets/{ticket_id}/record", headers=QUALITY).json()
        assert [e["kind"] for e in record["entries"]] == ["opened", "note_added"]
        assert all(e["evidence"]["status"] == "anchored" for e in record["entries"]), record["entries"]
    eventually(anchored, timeout=180, interval=1)
    before = _certificate(api, stack, ticket_id)
    assert _texts(api, ticket_id) == {"description": first, "note": second}
    sealed = {ref: _sealed(stack, ref) for ref in (receipt["reference"], more["reference"])}
    assert all(sealed.values())
    # The ticket's summary (the feedback's first line) is in clear in the file: the search can find it.
    assert marker.encode() in _files(stack)

    # Who may erase, and hostile input named.
    path = f"/feedback/{more['reference']}/erasure"
    assert api.post(path, json={"request_ref": "DSR-7"}).status_code == 401
    assert api.post(path, json={"request_ref": "DSR-7"}, headers=AGENT).status_code == 403
    for body, field in (({}, "request_ref"), ({"request_ref": "has spaces"}, "request_ref"),
                        ({"request_ref": "DSR-7", "text": "x"}, "text")):
        bad = api.post(path, json=body, headers=QUALITY)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == field, bad.text
    unknown = api.post("/feedback/FB-nosuchref/erasure", json={"request_ref": "DSR-7"}, headers=QUALITY)
    assert unknown.status_code == 404 and "FB-nosuchref" in unknown.json()["detail"]
    assert _texts(api, ticket_id) == {"description": first, "note": second}  # nothing erased so far

    # The attached piece: its note on the ticket goes, the ticket's own description stays.
    note = api.post(path, json={"request_ref": "DSR-7"}, headers=QUALITY)
    assert note.status_code == 200, note.text
    assert (note.json()["reference"], note.json()["request_ref"], note.json()["ticket_texts"]) == (
        more["reference"], "DSR-7", 1)
    assert note.json()["erased_by"].startswith("quality#")
    assert _texts(api, ticket_id) == {"description": first, "note": None}

    # The piece that became the ticket: every text of the ticket, and its summary, go (by an admin).
    erased = api.post(f"/feedback/{receipt['reference']}/erasure", json={"request_ref": "DSR-8"}, headers=ADMIN)
    assert erased.status_code == 200, erased.text
    assert erased.json()["ticket_texts"] == 1 and erased.json()["erased_by"].startswith("admin#")
    assert _texts(api, ticket_id) == {"description": None, "note": None}
    for view in (api.get(f"/tickets/{ticket_id}", headers=AGENT), api.get(f"/tickets/{ticket_id}/customer-view",
                 headers={"X-Customer-Token": receipt["customer_token"]})):
        assert view.status_code == 200 and marker not in view.text, view.text
    record = api.get(f"/tickets/{ticket_id}/record", headers=QUALITY).json()
    assert [x["request_ref"] for x in record["erasures"]] == ["DSR-8"]

    # The receipt still answers: status and outcome, when it was erased, never the words.
    for piece, outcome in ((receipt, "ticket"), (more, "attached")):
        answer = api.get(f"/feedback/{piece['reference']}/status",
                         headers={"X-Customer-Token": piece["customer_token"]})
        assert answer.status_code == 200
        body = answer.json()
        assert (body["status"], body["outcome"]) == ("triaged", outcome) and body["erased_at"]
        assert marker not in answer.text and contact not in answer.text
    page = api.get(f"/feedback/{receipt['reference']}", params={"token": receipt["customer_token"], "lang": "en"})
    assert page.status_code == 200 and marker not in page.text and "its words and your contact were erased" in page.text

    # Gone from the database file: no word, no contact, no ciphertext (the key could still open it).
    files = _files(stack)
    for gone in (marker, first, second, contact, *sealed.values()):
        assert gone.encode() not in files, gone
    assert all(_sealed(stack, ref) == "" for ref in sealed)

    # Asked again: the same audit row, nothing more.
    again = api.post(path, json={"request_ref": "DSR-9"}, headers=QUALITY)
    assert again.status_code == 200 and again.json() == note.json()

    # The anchored evidence is untouched: the same certificate still verifies against the chain.
    assert _certificate(api, stack, ticket_id) == before
