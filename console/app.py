"""Mounts the console on the API's app: its routers, static files, pinned vendor scripts and error pages.

``install_console(app)`` is called by ``api/main.py`` after the API's own exception handlers are in
place; the console wraps them so that an error under ``/console`` is answered as a page in the
reader's language (a missing session as a redirect to the sign-in page), and every other path keeps
its JSON answer.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.i18n import negotiate
from console import pages_analysis, pages_auth, pages_governance, pages_staffing, pages_supervision, pages_tickets
from console.auth import PREFIX, NeedsSignIn
from console.render import render

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
# The only files of the npm pins the pages load; axe-core is for the tests and is not served.
VENDOR = {
    "htmx.min.js": NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js",
    "echarts.min.js": NODE_MODULES / "echarts" / "dist" / "echarts.min.js",
}
HEADINGS = {403: "error_forbidden", 404: "error_not_found", 409: "error_conflict", 422: "error_bad_input",
            503: "error_unavailable"}


def vendor(name: str) -> Response:
    path = VENDOR.get(name)
    if path is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {name}")
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


def error_page(request: Request, status_code: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    language = negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    page = render(request, "error.html", language=language, time_zone="UTC", status_code=status_code,
                  heading=HEADINGS.get(status_code, "error_bad_input"), detail=detail, back=None)
    page.headers.update(headers or {})  # e.g. a 503's Retry-After
    return page


def install_console(app: FastAPI) -> None:
    """Adds the console's routes, assets and error pages to ``app``."""
    previous_http = app.exception_handlers.get(StarletteHTTPException)
    previous_validation = app.exception_handlers.get(RequestValidationError)

    async def signed_out(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NeedsSignIn)
        if request.headers.get("hx-request"):  # a live update after the session ended: reload to sign in
            return Response(status_code=status.HTTP_401_UNAUTHORIZED, headers={"HX-Redirect": f"{PREFIX}/login"})
        if "text/event-stream" in request.headers.get("accept", ""):
            # The board's stream (EventSource): a refusal closes it, and the page reloads to sign in.
            return Response(status_code=status.HTTP_401_UNAUTHORIZED)
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(f"{PREFIX}/login?next={quote(exc.next_path, safe='/')}",
                                    status_code=status.HTTP_303_SEE_OTHER)
        # A form sent without a session (it ended, or never was): nothing is done; sign in again.
        language = negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
        return render(request, "error.html", language=language, time_zone="UTC",
                      status_code=status.HTTP_401_UNAUTHORIZED, heading="error_signed_out",
                      detail="sign in first: this form needs a session", back=f"{PREFIX}/login")

    async def http_failed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(PREFIX + "/") and not request.url.path.startswith(PREFIX + "/api/") \
                and not request.url.path.startswith(PREFIX + "/static/"):
            return error_page(request, exc.status_code, str(exc.detail), exc.headers)
        assert previous_http is not None
        answer = previous_http(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    async def validation_failed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith(PREFIX + "/") and not request.url.path.startswith(PREFIX + "/api/"):
            names = ", ".join(".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]) for e in exc.errors())
            return error_page(request, status.HTTP_422_UNPROCESSABLE_CONTENT, f"{names}: not valid")
        assert previous_validation is not None
        answer = previous_validation(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(NeedsSignIn, signed_out)
    app.add_exception_handler(StarletteHTTPException, http_failed)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_api_route(f"{PREFIX}/static/vendor/{{name}}", vendor, methods=["GET"], include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(pages_auth.api_router)
    for module in (pages_auth, pages_tickets, pages_governance, pages_supervision, pages_analysis,
                   pages_staffing):
        app.include_router(module.router)
