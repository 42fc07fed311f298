"""The FastAPI application: `uvicorn api.main:app` (or `qualitrail api`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client, WorkflowQueryFailedError

from api.assets import install_web
from api.ratelimit import PublicRateLimitMiddleware
from api.routes import (
    analysis,
    cases,
    certificates,
    codec,
    customer,
    evaluations,
    feedback,
    meetings,
    observer_pages,
    observers,
    people,
    points,
    records,
    reports,
    spot_checks,
    staffing,
    suppliers,
    tickets,
    verify,
    veto,
    vouchers,
)
from api.schemas import Health
from console.app import install_console
from domain.json_limits import json_depth, replace_lone_surrogates
from domain.policy import load_policy
from observability.api_metrics import install_metrics
from observability.json_logs import configure_json_logging
from readmodel.db import init_db, ping
from settings import bound_recursion_limit, get_settings
from temporal.client import connect_temporal

log = logging.getLogger("qualitrail.api")
# An uploaded certificate carries about 1 KB per milestone; tickets can have hundreds.
VERIFY_UPLOAD_BYTES = 1024 * 1024


# Bodies that are not JSON text; every other body is parsed as JSON by FastAPI or by /verify.
FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")


class BodyLimitMiddleware:
    """Refuses request bodies over the limit with 413, and JSON nested too deep with 422.

    A declared Content-Length over the limit is answered before the body is read. A body without
    one (chunked) is counted while the app reads it; the HTTPException raised from ``receive``
    reaches FastAPI's handler like any other, so the answer has the same JSON shape. (FastAPI's own
    ``max_body_size`` answers a declared oversize in plain text, which is why it is not used.)

    The nesting depth is measured on the raw bytes when the app has read the last chunk, before
    anything parses them: nothing is read that the app would not read, so a route that checks its
    caller before its body (``/codec``) still refuses a stranger without reading a byte.
    """

    def __init__(self, app: ASGIApp, limit: int, max_depth: int) -> None:
        self.app = app
        self.limit = limit
        self.max_depth = max_depth

    def limit_for(self, path: str) -> int:
        # The Temporal UI sends a whole history's payloads to /codec/decode in one request.
        return VERIFY_UPLOAD_BYTES if path == "/verify" or path.startswith("/codec/") else self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        detail = f"request body larger than {limit} bytes"
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await JSONResponse({"detail": detail}, status_code=status.HTTP_413_CONTENT_TOO_LARGE)(
                scope, receive, send)
            return
        received = 0
        check_depth = not Headers(scope=scope).get("content-type", "").lower().startswith(FORM_TYPES)
        chunks: list[bytes] = []

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail)
                if check_depth:
                    chunks.append(chunk)
                    if not message.get("more_body", False) and json_depth(b"".join(chunks)) > self.max_depth:
                        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
                            "loc": ["body"], "type": "json_too_deep",
                            "msg": f"JSON nested deeper than {self.max_depth} levels"}])
            return message

        await self.app(scope, counting_receive, send)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    if settings.log_format == "json":
        configure_json_logging(settings.log_level)
    app.state.policy = load_policy(settings.policy_file)  # a bad policy file stops the start here
    init_db(settings.db_url)
    app.state.temporal = await connect_temporal(settings, attempts=30)
    yield


async def query_failed(request: Request, exc: Exception) -> JSONResponse:
    """A worker that cannot answer a state query (e.g. it failed to replay the history) is an outage
    of that workflow, not a bad request: 503, and the reason goes to the log for operators."""
    log.error("state query failed on %s: %s", request.url.path, exc)
    return JSONResponse({"detail": "the workflow's state cannot be read right now; try again later"},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


async def validation_failed(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, with echoed input made encodable: a lone surrogate (JSON ``"\\ud800"``) in
    the input made the answer itself fail with 500."""
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(replace_lone_surrogates(list(exc.errors())))
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def http_failed(request: Request, exc: Exception) -> Response:
    """Starlette's HTTPException answer, with any echoed text in ``detail`` made encodable."""
    assert isinstance(exc, StarletteHTTPException)
    exc.detail = replace_lone_surrogates(exc.detail)
    return await http_exception_handler(request, exc)


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Qualitrail",
        summary="Service-quality supervision: durable tickets, SLA clocks, anchored evidence, vouchers.",
        version="0.1.0",
        lifespan=lifespan,
        # Served by api/assets.py from a pinned package: FastAPI's own pages load from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes, max_depth=settings.max_json_depth)
    app.add_exception_handler(WorkflowQueryFailedError, query_failed)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(StarletteHTTPException, http_failed)

    @app.get("/health", tags=["health"], responses={200: {"model": Health},
                                                    503: {"model": Health, "description": "not ready"}})
    async def health(request: Request) -> JSONResponse:
        """Readiness: Temporal, the database and the chain's JSON-RPC answer."""
        checks: dict[str, str] = {}
        client: Client | None = getattr(request.app.state, "temporal", None)
        try:
            assert client is not None
            await client.service_client.check_health(timeout=timedelta(seconds=2))
            checks["temporal"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["temporal"] = f"down: {type(exc).__name__}"
        try:
            await run_in_threadpool(ping, settings.db_url)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"down: {type(exc).__name__}"
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                answer = await http.post(settings.rpc_url, json={"jsonrpc": "2.0", "id": 1,
                                                                 "method": "eth_blockNumber", "params": []})
            answer.raise_for_status()
            checks["chain"] = "ok" if "result" in answer.json() else "down: no result"
        except (httpx.HTTPError, ValueError) as exc:
            checks["chain"] = f"down: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/health/live", tags=["health"])
    def live() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    app.include_router(tickets.router)
    app.include_router(feedback.router)
    app.include_router(customer.router)
    app.include_router(observers.router)
    app.include_router(observer_pages.router)
    app.include_router(records.router)
    app.include_router(people.router)
    app.include_router(points.router)
    app.include_router(veto.router)
    app.include_router(evaluations.router)
    app.include_router(spot_checks.router)
    app.include_router(meetings.router)
    app.include_router(analysis.router)
    app.include_router(staffing.router)
    app.include_router(cases.router)
    app.include_router(suppliers.router)
    app.include_router(certificates.router)
    app.include_router(verify.router)
    app.include_router(reports.router)
    app.include_router(vouchers.router)
    app.include_router(codec.router)
    app.add_middleware(codec.CodecCORSMiddleware, origin=settings.temporal_ui_origin)
    # Outside the body checks: a client over its limit is answered before its body is read.
    app.add_middleware(PublicRateLimitMiddleware, limit=settings.public_rate_limit)
    install_console(app)  # after the API's handlers: it wraps them with pages for /console
    install_web(app)  # security headers outside the other middleware, so its answers carry them too
    install_metrics(app)  # last: it also times what the other middleware answers
    return app


app = create_app()
bound_recursion_limit()  # last: every library the app uses is imported by now
