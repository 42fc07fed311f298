"""The service record over real HTTP (uvicorn + Temporal dev server + worker + Anvil, as `make run`).

A reviewer reads one timeline of texts, milestones, clocks and anchors; texts are sealed at rest;
erasure destroys them while the evidence stays and the certificate still verifies on chain.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3

from certificates.verify import verify_certificate
from cli.stack import Stack
from domain.certificate_checks import overall_verdict
from tests.helpers import eventually

AGENT = {"X-API-Key": "dev-agent"}
AUDITOR = {"X-API-Key": "dev-auditor"}
QUALITY = {"X-API-Key": "dev-quality"}
REVIEWER = {"X-API-Key": "test-reviewer"}

DESCRIPTION = "Jane Roe, 3 Elm Street: the boiler leaks since Monday"
REPLY = "Dear Jane, an engineer comes tomorrow at 9"
NOTE = "Customer sounded upset, call back before noon"
COMMENT = "Engineer was late but fixed it, thanks Bob"
TEXTS = (DESCRIPTION, REPLY, NOTE, COMMENT)


@pytest.fixture(scope="module")
def stack_dir(stack: Stack) -> Path:
    """The shared stack's folder: it seals texts with tests.helpers.STACK_RECORD_KEY and knows the test-reviewer key."""
    return stack.config.var_dir


@pytest.fixture(scope="module")
def rpc_url(stack: Stack) -> str:
    return stack.config.rpc_url


def _db_rows(stack_dir: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(stack_dir / "qualitrail.db") as conn:
        return conn.execute(sql, params).fetchall()


def _dump(stack_dir: Path) -> str:
    with sqlite3.connect(stack_dir / "qualitrail.db") as conn:
        return "\n".join(conn.iterdump())


def _verified(api: httpx.Client, rpc_url: str, tid: str) -> dict[str, Any]:
    cert = api.get(f"/tickets/{tid}/certificate", headers=AUDITOR)
    assert cert.status_code == 200, cert.text
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    verdict = overall_verdict(verify_certificate(cert.json(), w3=w3, min_confirmations=0))
    assert verdict.ok, verdict.headline
    body: dict[str, Any] = cert.json()
    return body


@pytest.fixture(scope="module")
def served(api: httpx.Client) -> dict[str, Any]:
    """One ticket run from opening to the customer's rated confirmation, fully anchored."""
    body = {"ticket_id": f"REC-{uuid.uuid4().hex[:10]}", "customer_ref": "jane.roe@example.com",
            "channel": "web", "category": "after_sales", "priority": "P3", "team": "after-sales",
            "summary": "Boiler leaks", "description": DESCRIPTION}
    created = api.post("/tickets", json=body, headers=AGENT)
    assert created.status_code == 201, created.text
    tid, token = body["ticket_id"], created.json()["customer_token"]
    for command, payload in (("respond", {"message": REPLY}), ("notes", {"text": NOTE}),
                             ("resolve", {"resolution_code": "repaired", "root_cause": "seal"})):
        r = api.post(f"/tickets/{tid}/{command}", json=payload, headers=AGENT)
        assert r.status_code == 200, (command, r.text)
    done = api.post(f"/tickets/{tid}/confirm", json={"rating": 4, "comment": COMMENT},
                    headers={"X-Customer-Token": token})
    assert done.status_code == 200, done.text

    def all_anchored() -> None:
        record = api.get(f"/tickets/{tid}/record", headers=REVIEWER).json()
        assert [e["kind"] for e in record["entries"]] == ["opened", "first_response", "note_added", "resolved",
                                                          "confirmed"]
        assert all(e["evidence"]["status"] == "anchored" for e in record["entries"])
    eventually(all_anchored, timeout=90, interval=1)
    return {"tid": tid, "token": token, "record": api.get(f"/tickets/{tid}/record", headers=REVIEWER).json()}


def test_reviewer_reads_one_timeline_of_texts_milestones_clocks_and_anchors(served: dict[str, Any]) -> None:
    record = served["record"]
    texts = {e["kind"]: [(t["kind"], t["text"], t["hash_matches"]) for t in e["texts"]] for e in record["entries"]}
    assert texts == {"opened": [("description", DESCRIPTION, True)], "first_response": [("reply", REPLY, True)],
                     "note_added": [("note", NOTE, True)], "resolved": [],
                     "confirmed": [("rating_comment", COMMENT, True)]}
    # The milestones (so the chain and the certificate) hold only keyed hashes of those texts.
    by_kind = {e["kind"]: e for e in record["entries"]}
    assert by_kind["opened"]["data"]["text_hash"] == by_kind["opened"]["texts"][0]["text_hash"]
    assert by_kind["confirmed"]["data"] == {"rating": "4",
                                            "comment_hash": by_kind["confirmed"]["texts"][0]["text_hash"]}
    assert not any(text in str(e["data"]) for e in record["entries"] for text in TEXTS)
    assert {e["evidence"]["tx_hash"] is not None for e in record["entries"]} == {True}
    assert record["ticket"]["rating"] == 4 and record["ticket"]["status"] == "closed"
    assert [(c["name"], c["outcome"]) for c in record["ticket"]["clocks"]] == [("first_response", "met"),
                                                                               ("resolution", "met")]


def test_texts_are_sealed_at_rest(api: httpx.Client, served: dict[str, Any], stack_dir: Path) -> None:
    dump = _dump(stack_dir)
    assert served["tid"] in dump
    assert not [text for text in TEXTS if text in dump]
    rows = _db_rows(stack_dir, "SELECT kind, key_id FROM servicetext WHERE ticket_id = ? ORDER BY id", served["tid"])
    assert rows == [("description", "r1"), ("reply", "r1"), ("note", "r1"), ("rating_comment", "r1")]


def test_refused_command_keeps_no_text(api: httpx.Client, served: dict[str, Any], stack_dir: Path) -> None:
    count = "SELECT count(*) FROM servicetext WHERE ticket_id = ?"
    before = _db_rows(stack_dir, count, served["tid"])
    again = api.post(f"/tickets/{served['tid']}/notes", json={"text": "too late, ticket closed"}, headers=AGENT)
    assert again.status_code == 409
    unknown = api.post("/tickets/REC-nosuchticket/notes", json={"text": "to nobody"}, headers=AGENT)
    assert unknown.status_code == 404
    assert _db_rows(stack_dir, count, served["tid"]) == before
    assert _db_rows(stack_dir, count, "REC-nosuchticket") == [(0,)]


def test_record_and_erasure_routes_check_roles_and_input(api: httpx.Client, served: dict[str, Any]) -> None:
    tid = served["tid"]
    assert api.get(f"/tickets/{tid}/record").status_code == 401
    assert api.get(f"/tickets/{tid}/record", headers={"X-API-Key": "wrong"}).status_code == 401
    assert api.get(f"/tickets/{tid}/record", headers=AGENT).status_code == 403
    assert api.get(f"/tickets/{tid}/record", headers=QUALITY).status_code == 200
    missing = api.get("/tickets/REC-none-such/record", headers=REVIEWER)
    assert missing.status_code == 404 and "REC-none-such" in missing.json()["detail"]
    bad_id = api.get("/tickets/!bad/record", headers=REVIEWER)
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == ["path", "ticket_id"]

    assert api.post(f"/tickets/{tid}/erasure", json={"request_ref": "DSR-1"}).status_code == 401
    assert api.post(f"/tickets/{tid}/erasure", json={"request_ref": "DSR-1"}, headers=REVIEWER).status_code == 403
    for body, field in (({}, "request_ref"), ({"request_ref": "has spaces in it"}, "request_ref"),
                        ({"request_ref": "DSR-1", "extra": 1}, "extra")):
        r = api.post(f"/tickets/{tid}/erasure", json=body, headers=QUALITY)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    gone = api.post("/tickets/REC-none-such/erasure", json={"request_ref": "DSR-1"}, headers=QUALITY)
    assert gone.status_code == 404
    # Nothing above erased anything.
    assert all(t["text"] for e in api.get(f"/tickets/{tid}/record", headers=REVIEWER).json()["entries"]
               for t in e["texts"])


def test_erasure_destroys_text_while_evidence_stays_and_certificate_verifies(
        api: httpx.Client, served: dict[str, Any], stack_dir: Path, rpc_url: str) -> None:
    tid = served["tid"]
    before = _verified(api, rpc_url, tid)

    erased = api.post(f"/tickets/{tid}/erasure", json={"request_ref": "DSR-2026-0042"}, headers=QUALITY)
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased_count"] == 4 and erased.json()["erased_by"].startswith("quality#")

    record = api.get(f"/tickets/{tid}/record", headers=REVIEWER).json()
    texts = [t for e in record["entries"] for t in e["texts"]]
    assert len(texts) == 4 and all(t["text"] is None and t["erased"] for t in texts)
    assert [(e["seq"], e["leaf"]) for e in record["entries"]] == [
        (e["seq"], e["leaf"]) for e in served["record"]["entries"]]
    assert [x["request_ref"] for x in record["erasures"]] == ["DSR-2026-0042"]
    assert _db_rows(stack_dir, "SELECT count(*) FROM servicetext WHERE ticket_id = ? AND sealed IS NOT NULL",
                    tid) == [(0,)]

    after = _verified(api, rpc_url, tid)
    assert after == before  # the same certificate, byte for byte, still verifies against the chain

    # A second request finds nothing left to erase.
    again = api.post(f"/tickets/{tid}/erasure", json={"request_ref": "DSR-2026-0042"}, headers=QUALITY)
    assert again.status_code == 200 and again.json()["erased_count"] == 0
