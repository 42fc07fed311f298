"""A lone UTF-16 surrogate (JSON ``"\\ud800"``) in any input answers 4xx, never 500 (issue 12, item 6).

JSON may spell a lone surrogate; Python keeps it in ``str``, and FastAPI's 422 echoes the input,
which then cannot be encoded: the error answer itself failed with 500. Every route of the app is
tried on the running stack, with the surrogate in every body field, in a query parameter and in a
path segment; the codec routes (503 on the stack, which has no payload keys) on an app with keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, SecretStr

from settings import Settings, get_settings
from temporal.codec import new_key
from tests.helpers import serve_api_with
from tests.security.helpers import probe_url

LONE = "\ud800"
# Percent-encoded UTF-8 of U+D800: what a client can put in a URL (the server decodes it lossily).
LONE_IN_URL = "%ED%A0%80"
HEADERS = {"X-API-Key": "dev-admin", "Content-Type": "application/json"}
# Routes that answer HTML by design (the public verification pages): their errors are pages too.
def _is_page(route: APIRoute) -> bool:
    """A page for people (its errors are pages too, as documented): it answers HTML."""
    kind = getattr(route.response_class, "value", route.response_class)  # FastAPI's DefaultPlaceholder
    return isinstance(kind, type) and issubclass(kind, HTMLResponse)


def _routes() -> list[APIRoute]:
    from api.main import create_app

    try:
        app = create_app()
    finally:
        get_settings.cache_clear()
    # FastAPI keeps an included router as one entry; its routes already carry the router's prefix.
    flat: list[Any] = []
    for route in app.routes:
        original = getattr(route, "original_router", None)
        flat.extend(original.routes if original is not None else [route])
    return [r for r in flat if isinstance(r, APIRoute)]


ROUTES = [(method, route) for route in _routes() for method in sorted(route.methods or ())]
IDS = [f"{method} {route.path}" for method, route in ROUTES]


def _body_fields(route: APIRoute) -> list[str]:
    model = route.body_field.field_info.annotation if route.body_field is not None else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return ["payloads", "certificate", "format"]  # bodies read by hand (/codec, /verify)


def _query_params(route: APIRoute) -> list[str]:
    return [p.alias for p in route.dependant.query_params]


def _requests(method: str, route: APIRoute) -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, httpx kwargs) with the surrogate in the body, in each query parameter, in a path segment.

    A URL cannot carry a lone surrogate: the server decodes its UTF-8 spelling to U+FFFD, a valid
    filter value, so those requests may also answer 200; only the bodies must be refused.
    """
    if method in ("POST", "PUT", "PATCH"):
        # Every field at once, and each field on its own (so one field's check cannot hide another's).
        fields = _body_fields(route)
        for body in [dict.fromkeys(fields, LONE), *({f: LONE} for f in fields)]:
            # ensure_ascii (the default) spells the surrogate as the escape \ud800: valid JSON text.
            yield probe_url(route.path), {"content": json.dumps(body).encode()}
    for name in _query_params(route):
        yield f"{probe_url(route.path)}?{name}={LONE_IN_URL}", {}
    if "{" in route.path:
        yield route.path.split("{")[0] + LONE_IN_URL + route.path.split("}", 1)[1], {}




@pytest.fixture(scope="module")
def codec_url() -> Iterator[str]:
    with serve_api_with(Settings(payload_keys=SecretStr(f"ls:{new_key()}"))) as url:
        yield url


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=IDS)
def test_lone_surrogate_answers_4xx_never_500(method: str, route: APIRoute, api: httpx.Client,
                                              request: pytest.FixtureRequest) -> None:
    base = request.getfixturevalue("codec_url") if route.path.startswith("/codec/") else str(api.base_url)
    with httpx.Client(base_url=base, timeout=60) as client:
        for url, kwargs in _requests(method, route):
            answer = client.request(method, url, headers=HEADERS, **kwargs)
            where = f"{method} {url} {kwargs.get('content', b'')[:120]!r}"
            assert answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
            if "content" in kwargs:
                assert 400 <= answer.status_code < 500, (where, answer.status_code, answer.text[:300])
            kind = answer.headers.get("content-type", "")
            if answer.status_code >= 400:
                html = (_is_page(route)
                        or (route.path.startswith("/console/")  # the console's pages
                            and not route.path.startswith("/console/api/")))
                assert "application/json" in kind or (html and "text/html" in kind), where
                if "application/json" in kind:
                    assert answer.json()["detail"], where


def _shaped_certificate(kind: str) -> dict[str, Any]:
    zero = "0x" + "00" * 32
    return {"format": "qualitrail.certificate.v1", "ticket_id": "T-surrogate", "chain_id": 31337,
            "registry": "0x" + "11" * 20, "voucher_contract": "0x" + "22" * 20, "signer": "0x" + "33" * 20,
            "as_of": "2026-01-01T00:00:00.000000Z", "digest": zero, "signature": "0x" + "00" * 65,
            "milestones": [{"seq": 0, "kind": kind, "at": "2026-01-01T00:00:00.000000Z", "prev": zero,
                            "leaf": zero, "data": {}, "batch_no": 0, "proof": []}],
            "batches": [], "vouchers": []}


def test_uploaded_certificate_with_a_lone_surrogate_is_refused(api: httpx.Client) -> None:
    # Well shaped, so it used to reach the page, whose rendering then failed to encode (500).
    raw = json.dumps(_shaped_certificate(LONE)).encode()
    answer = api.post("/verify", content=raw, headers={"Content-Type": "application/json", "Accept-Language": "en"})
    assert answer.status_code == 400, answer.text[:300]
    assert "not a readable" in answer.text
