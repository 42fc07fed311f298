"""Request bodies are capped: 64 KiB in general, 1 MiB for /verify and /codec; over it, 413 and nothing done.

Each oversized body is otherwise valid (JSON padded with whitespace), so without the limit the
request would have created something; both a declared Content-Length and a chunked body are tried.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.security.helpers import key

LIMIT = 64 * 1024
LARGE_LIMIT = 1024 * 1024


def _padded(body: dict[str, Any], size: int) -> bytes:
    raw = json.dumps(body).encode()
    assert len(raw) < size
    return raw[:-1] + b" " * (size - len(raw)) + b"}"  # whitespace inside the object: still valid JSON


def _chunked(data: bytes) -> Iterator[bytes]:
    # A generator makes httpx send Transfer-Encoding: chunked, with no Content-Length to check up front.
    for start in range(0, len(data), 16 * 1024):
        yield data[start:start + 16 * 1024]


def _ticket() -> tuple[str, dict[str, Any], str]:
    ticket_id = f"BIG-{uuid.uuid4().hex[:10]}"
    return "/tickets", {"ticket_id": ticket_id, "customer_ref": "big", "channel": "web", "category": "after_sales",
                        "team": "after-sales", "summary": "Oversized"}, f"/tickets/{ticket_id}"


def _meeting() -> tuple[str, dict[str, Any], str]:
    meeting_id = f"M-big-{uuid.uuid4().hex[:10]}"
    return "/meetings", {"meeting_id": meeting_id, "title": "Oversized", "problem": "p", "category": "after_sales",
                         "departments": ["after-sales"]}, f"/meetings/{meeting_id}"


def _supplier() -> tuple[str, dict[str, Any], str]:
    supplier_id = f"big-{uuid.uuid4().hex[:10]}"
    return "/suppliers", {"supplier_id": supplier_id, "name": "Oversized", "contract_value": 100,
                          "currency": "EUR"}, f"/suppliers/{supplier_id}"


CREATIONS: dict[str, tuple[Callable[[], tuple[str, dict[str, Any], str]], str]] = {
    "ticket": (_ticket, "agent"), "meeting": (_meeting, "quality"), "supplier": (_supplier, "quality")}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("kind", sorted(CREATIONS))
def test_oversized_creation_is_refused_and_creates_nothing(api: httpx.Client, kind: str, chunked: bool) -> None:
    make, role = CREATIONS[kind]
    path, body, created_at = make()
    data = _padded(body, LIMIT + 1)
    headers = {**key(role), "Content-Type": "application/json"}
    response = api.post(path, content=_chunked(data) if chunked else data, headers=headers)
    assert response.status_code == 413, response.text[:300]
    assert response.json() == {"detail": f"request body larger than {LIMIT} bytes"}
    assert api.get(created_at, headers=key("supervisor")).status_code == 404


def test_a_body_of_exactly_the_limit_is_accepted(api: httpx.Client) -> None:
    path, body, created_at = _ticket()
    headers = {**key("agent"), "Content-Type": "application/json"}
    response = api.post(path, content=_padded(body, LIMIT), headers=headers)
    assert response.status_code == 201, response.text[:300]
    assert api.get(created_at, headers=key("agent")).status_code == 200


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_verify_and_codec_take_up_to_one_mebibyte(api: httpx.Client, chunked: bool) -> None:
    def send(path: str, size: int) -> httpx.Response:
        data = b"[" + b" " * (size - 2) + b"]"
        return api.post(path, content=_chunked(data) if chunked else data,
                        headers={**key("admin"), "Content-Type": "application/json"})

    over = {path: send(path, LARGE_LIMIT + 1) for path in ("/verify", "/codec/decode", "/codec/encode")}
    for path, response in over.items():
        if chunked and path.startswith("/codec/") and response.status_code == 503:
            # /codec checks its caller and its keys before it reads a byte (issue 12): without
            # payload keys (this stack) a chunked body is never read, so never counted.
            continue
        assert response.status_code == 413, (path, response.text[:300])
        assert response.json() == {"detail": f"request body larger than {LARGE_LIMIT} bytes"}
    # Past the general limit but inside theirs: read and answered on its merits (not a certificate,
    # not a payload list), not refused for size.
    assert send("/verify", 2 * LIMIT).status_code == 400
    assert send("/codec/decode", 2 * LIMIT).status_code in (422, 503)
    assert send("/tickets", 2 * LIMIT).status_code == 413

