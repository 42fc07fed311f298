"""Public feedback over real HTTP (in-process API under uvicorn, no Temporal): rate limits with
Retry-After, and hostile input answered with a 4xx naming the field, never a 500. Without Temporal
each submission is still stored (the sweep starts its triage later): nothing is lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from readmodel.db import init_db, session_scope
from readmodel.feedback_models import Feedback
from settings import Settings
from tests.helpers import altered, serve_api_with


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('fb') / 'readmodel.db'}"
    init_db(url)
    return url


def _serve(db_url: str, per_address: str, per_customer: str) -> Iterator[httpx.Client]:
    settings = Settings(database_url=db_url, var_dir=Path(db_url[10:]).parent, feedback_rate_limit=per_address,
                        feedback_customer_rate_limit=per_customer)
    with serve_api_with(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def limited(db_url: str) -> Iterator[httpx.Client]:
    # Limits no other test uses (each limit notation has its own counters in the process).
    yield from _serve(db_url, "4/minute", "2/minute")


@pytest.fixture(scope="module")
def api(db_url: str) -> Iterator[httpx.Client]:
    yield from _serve(db_url, "10000/minute", "10000/minute")


def _post(api: httpx.Client, contact: str, text: str = "冰箱不制冷") -> httpx.Response:
    return api.post("/feedback", json={"text": text, "contact": contact})


def test_customer_and_address_limits_answer_429_with_retry_after(limited: httpx.Client, db_url: str) -> None:
    api = limited
    first = _post(api, "13800000001")
    assert first.status_code == 202, first.text
    receipt = first.json()
    assert receipt["reference"].startswith("FB-") and receipt["customer_token"].startswith("ct1.")
    assert receipt["follow_url"].endswith(f"/feedback/{receipt['reference']}?token={receipt['customer_token']}")
    assert _post(api, "13800000001", "第二条").status_code == 202
    third = _post(api, "13800000001", "第三条")  # the customer's 3rd inside the minute
    assert third.status_code == 429 and 1 <= int(third.headers["Retry-After"]) <= 60
    assert "this contact" in third.json()["detail"] and "13800000001" not in third.json()["detail"]
    assert _post(api, "13800000002").status_code == 202  # another customer, same address: its 4th
    fifth = _post(api, "13800000003")  # the address's 5th inside the minute
    assert fifth.status_code == 429 and int(fifth.headers["Retry-After"]) >= 1
    assert "client address" in fifth.json()["detail"]
    with session_scope(db_url) as session:
        rows = session.exec(select(Feedback)).all()
    # Everything accepted is stored, sealed (no clear text or contact in the row), awaiting triage.
    assert len(rows) == 3 and {r.status for r in rows} == {"received"}
    assert all("13800000001" not in r.sealed and "冰箱" not in r.sealed for r in rows)


HOSTILE = [
    ({"text": "x", "contact": "13800000009", "extra": 1}, "extra"),
    ({"text": "", "contact": "13800000009"}, "text"),
    ({"text": "a\x00b", "contact": "13800000009"}, "text"),
    ({"text": "x", "contact": "a b"}, "contact"),
    ({"text": "x", "contact": "13800000009", "kind": "praise"}, "kind"),
    ({"text": ["x"], "contact": "13800000009"}, "text"),
]


@pytest.mark.parametrize(("body", "field"), HOSTILE)
def test_bad_bodies_name_the_field(api: httpx.Client, body: dict[str, object], field: str) -> None:
    answer = api.post("/feedback", json=body)
    assert answer.status_code == 422, answer.text
    assert field in json.dumps(answer.json()["detail"])


def test_hostile_encodings_depth_size_and_length(api: httpx.Client) -> None:
    surrogate = b'{"text": "\\ud800", "contact": "13800000009"}'
    answer = api.post("/feedback", content=surrogate, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "text"]
    not_utf8 = api.post("/feedback", content=b'{"text": "\xff\xfe", "contact": "x@y.z"}',
                        headers={"Content-Type": "application/json"})
    assert 400 <= not_utf8.status_code < 500
    deep = b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b', "contact": "x@y.z"}'
    assert api.post("/feedback", content=deep, headers={"Content-Type": "application/json"}).status_code in (413, 422)
    nested = b'{"text": ' + b"[" * 40 + b"]" * 40 + b', "contact": "x@y.z"}'
    answer = api.post("/feedback", content=nested, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "deeper" in answer.text
    too_big = api.post("/feedback", json={"text": "x" * 70_000, "contact": "x@y.z"})  # over the body limit
    assert too_big.status_code == 413 and "larger than" in too_big.json()["detail"]
    long = api.post("/feedback", json={"text": "字" * 2001, "contact": "x@y.z"})  # over max_text_chars
    assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["body", "text"]


def test_the_form_refuses_bad_input_as_a_page(api: httpx.Client) -> None:
    page = api.get("/feedback", params={"lang": "en"})
    assert page.status_code == 200 and 'action="/feedback/form"' in page.text and "Send" in page.text
    bad = api.post("/feedback/form", content=b"text=%ED%A0%80%00&contact=%FF&kind=x&lang=zh",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 422 and "请检查" in bad.text
    for field in ("请填写内容", "有效的手机号", "请选择类型"):
        assert field in bad.text
    script = api.post("/feedback/form", data={"text": "<script>alert(1)</script>" * 100, "contact": "x",
                                              "kind": "request", "lang": "en"})
    assert script.status_code == 422 and "<script>alert" not in script.text


def test_following_needs_the_right_token(api: httpx.Client) -> None:
    receipt = _post(api, "follow@example.cn").json()
    ref, token = receipt["reference"], receipt["customer_token"]
    page = api.get(f"/feedback/{ref}", params={"token": token, "lang": "en"})
    assert page.status_code == 200 and "Received and being sorted" in page.text
    status = api.get(f"/feedback/{ref}/status", headers={"X-Customer-Token": token}).json()
    assert (status["status"], status["outcome"], status["ticket_id"]) == ("received", None, None)
    wrong = api.get(f"/feedback/{ref}", params={"token": altered(token)})
    unknown = api.get("/feedback/FB-000000000000", params={"token": token})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()
    assert api.get("/feedback/%00bad").status_code == 422
    assert api.get(f"/feedback/{ref}/status").status_code == 404


def test_erasure_waits_for_triage_and_keeps_the_words_until_then(api: httpx.Client, db_url: str) -> None:
    # No Temporal here: the feedback stays `received`, so its triage still needs the words.
    receipt = _post(api, "erase-wait@example.cn", "请删除我的反馈").json()
    ref = receipt["reference"]
    answer = api.post(f"/feedback/{ref}/erasure", json={"request_ref": "DSR-1"}, headers={"X-API-Key": "dev-quality"})
    assert answer.status_code == 409 and "triaged" in answer.json()["detail"]
    with session_scope(db_url) as session:
        row = session.get(Feedback, ref)
        assert row is not None and row.sealed and row.erased_at is None
    status = api.get(f"/feedback/{ref}/status", headers={"X-Customer-Token": receipt["customer_token"]}).json()
    assert (status["status"], status["erased_at"]) == ("received", None)
