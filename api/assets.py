"""Static assets served by us, and the API docs page (Swagger UI) built on them.

Nothing a page of ours loads comes from outside this server: Swagger UI's script, stylesheet and
icon come from the pinned ``fastapi-offline`` package, our own stylesheets and scripts from
``api/static/``. FastAPI's own ``/docs`` (assets from a CDN, an inline start script) and ``/redoc``
are turned off in ``api/main.py``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.headers import SecurityHeadersMiddleware

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER_UI = Path(str(files("fastapi_offline") / "static"))
ASSETS = "/assets"

_DOCS_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Qualitrail API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/swagger-ui/favicon.png">
</head><body><div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/swagger-init.js"></script>
</body></html>"""


def docs_page() -> HTMLResponse:
    """The API docs (Swagger UI over /openapi.json), every asset from this server."""
    return HTMLResponse(_DOCS_PAGE)


def install_web(app: FastAPI, *, docs: bool = True) -> None:
    """Security headers on every answer, the static assets and (with ``docs``) the /docs page.

    Args:
        app: The app; created with ``docs_url=None, redoc_url=None``.
        docs: Serve the Swagger UI page at /docs.
    """
    app.add_middleware(SecurityHeadersMiddleware)
    # The more specific mount first: Starlette takes the first that matches.
    app.mount(f"{ASSETS}/swagger-ui", StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="assets")
    if docs:
        app.add_api_route("/docs", docs_page, methods=["GET"], include_in_schema=False,
                          response_class=HTMLResponse)
