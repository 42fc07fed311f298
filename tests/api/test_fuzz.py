"""Schema-driven fuzzing of the running API (schemathesis over the real stack of `make run`).

Every operation of the OpenAPI schema gets a bounded number of generated requests, valid and
invalid. None may answer 5xx; every status must be one the schema documents for the operation,
with the documented media type and body shape (errors: ``{"detail": "..."}`` or FastAPI's 422 list).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis import BaseSchema, Case, CheckContext, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from cli.stack import Stack
from settings import Settings, get_settings
from temporal.codec import new_key
from tests.helpers import serve_api_with

ADMIN_KEY = "dev-admin"  # admin passes every role check, so generated requests reach the handlers
KEY = {"X-API-Key": ADMIN_KEY}
# Small on purpose: the whole module stays near a minute on two cores (~45 operations).
MAX_EXAMPLES = 12
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                # Generation only: shrinking a failure against a live stack would take minutes.
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))
# No API key or customer token needed (the security tests keep the reasoned allow-list).
PUBLIC = {"/health", "/health/live", "/verify", "/verify/{ticket_id}",
          # Rule 14: anyone may give feedback; the receipt's token in the URL opens what follows it.
          "/feedback", "/feedback/form", "/feedback/{ref}", "/feedback/{ref}/status", "/my/tickets/{ticket_id}",
          "/my/tickets/{ticket_id}/{action}",
          # Rule 15: the observer's page and forms; the invitation's token (query or form field) opens them.
          "/observers/{observer_id}/page", "/observers/{observer_id}/page/suggestion",
          "/observers/{observer_id}/page/review",
          # Rule 16: the monthly quality report is published for everyone.
          "/reports", "/reports/{month}", "/reports/{month}.json", "/reports/{month}.pdf",
          "/reports/{month}/export.json"}


@schemathesis.check
def error_has_detail(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every JSON 4xx names what is wrong in ``detail`` (words, or FastAPI's list of bad fields)."""
    if not 400 <= response.status_code < 500:
        return None
    if "application/json" not in response.headers.get("content-type", [""])[0]:
        return None
    body = response.json()
    assert isinstance(body, dict) and "detail" in body, f"error without detail: {body!r}"
    detail = body["detail"]
    if response.status_code == 422:
        assert isinstance(detail, list) and detail, f"422 must list the bad fields: {detail!r}"
        for item in detail:
            assert isinstance(item, dict) and item.get("loc") and item.get("msg"), f"422 item {item!r}"
    else:
        assert isinstance(detail, str) and detail, f"{response.status_code} detail must be words: {detail!r}"
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, error_has_detail]


def _operations() -> list[tuple[str, str]]:
    # Collected from the app itself, so a new endpoint is fuzzed without touching this file.
    from api.main import create_app

    try:
        spec = create_app().openapi()
    finally:
        get_settings.cache_clear()  # later tests build settings from their own environment
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


OPERATIONS = _operations()
PROTECTED = [op for op in OPERATIONS if op[1] not in PUBLIC]


def _ids(ops: list[tuple[str, str]]) -> list[str]:
    return [f"{method} {path}" for method, path in ops]


@pytest.fixture(scope="module")
def live_schema(stack: Stack) -> BaseSchema:
    """The schema the running API serves (the same app as the collection-time copy above)."""
    # 413 is a fine way to refuse invalid data too: a string far over its maxLength is also over the
    # body limit. 5xx stays listed here because not_a_server_error already fails it on its own.
    refused = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": refused}}})
    return schemathesis.openapi.from_url(f"{stack.config.api_url}/openapi.json", config=config)


@pytest.fixture(scope="module")
def seeded(api: httpx.Client) -> dict[str, str]:
    """One real ticket, so generated commands also reach a live workflow and not only 404s."""
    body = {"ticket_id": f"FUZZ-{uuid.uuid4().hex[:10]}", "customer_ref": "fuzz-customer", "channel": "web",
            "category": "after_sales", "team": "after-sales", "summary": "Fuzzed ticket"}
    created = api.post("/tickets", json=body, headers=KEY)
    assert created.status_code == 201, created.text
    return {"ticket_id": body["ticket_id"], "token": created.json()["customer_token"]}


@pytest.fixture(scope="module")
def codec_url() -> Iterator[str]:
    """The app with payload keys set (the test stack runs without encryption, so /codec answers 503)."""
    from pydantic import SecretStr

    with serve_api_with(Settings(payload_keys=SecretStr(f"fz:{new_key()}"))) as url:  # /codec needs no Temporal
        yield url


def _set_header(case: Case, name: str, value: str | None) -> None:
    # Case-insensitive: header parameters are spelled differently per route (x-api-key / X-API-Key).
    case.headers.pop(name, None)
    if value is not None:
        case.headers[name] = value


def _point_at_seeded(case: Case, seeded: dict[str, str]) -> None:
    # Valid cases may target the real ticket, with its customer token where the operation reads one.
    params = case.path_parameters or {}
    if "ticket_id" not in params or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    params["ticket_id"] = seeded["ticket_id"]
    if "X-Customer-Token" in case.headers:
        _set_header(case, "X-Customer-Token", seeded["token"])


def _with_lone_surrogate(case: Case, index: int) -> None:
    # Hypothesis' text never holds surrogates, so generation alone did not find that a lone one
    # ("\ud800", valid JSON) made the 422 answer fail with 500: put one into a string of the body.
    body = case.body
    if not isinstance(body, dict) or "json" not in (case.media_type or ""):
        return  # only JSON text can spell one; a form upload would have to encode it
    texts = [k for k, v in body.items() if isinstance(v, str)] or list(body) or ["unexpected"]
    field = texts[index % len(texts)]
    value = body.get(field)
    body[field] = "\ud800" + (value if isinstance(value, str) else "")


def _cases(live_schema: BaseSchema, method: str, path: str) -> SearchStrategy[Case]:
    operation = live_schema[path][method]
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=_ids(OPERATIONS))
def test_every_operation_answers_as_documented(method: str, path: str, live_schema: BaseSchema,
                                               seeded: dict[str, str], request: pytest.FixtureRequest) -> None:
    # schemathesis.pytest.from_fixture needs pytest's private Item._nodeid (gone in pytest 9), so
    # the cases are drawn from the live schema's strategies with Hypothesis directly.
    base_url = request.getfixturevalue("codec_url") if path.startswith("/codec/") else None

    @FUZZ
    @given(case=_cases(live_schema, method, path), use_seeded=st.booleans(),
           surrogate=st.none() | st.integers(min_value=0, max_value=20))
    def run(case: Case, use_seeded: bool, surrogate: int | None) -> None:
        _set_header(case, "X-API-Key", ADMIN_KEY)
        if use_seeded:
            _point_at_seeded(case, seeded)
        if surrogate is not None:
            _with_lone_surrogate(case, surrogate)
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)

    run()


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=_ids(PROTECTED))
def test_without_a_key_every_protected_operation_refuses(method: str, path: str, live_schema: BaseSchema) -> None:
    @settings(FUZZ, max_examples=3)
    @given(case=live_schema[path][method].as_strategy(GenerationMode.POSITIVE))
    def run(case: Case) -> None:
        _set_header(case, "X-API-Key", None)
        _set_header(case, "Authorization", None)
        response = case.call(timeout=30)
        # A well-formed request without a key stops at authentication, never deeper.
        assert response.status_code in (401, 403), (method, path, response.status_code, response.text[:300])
        assert response.json().get("detail"), response.text

    run()
