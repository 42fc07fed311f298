"""The API docs work without internet: Swagger UI's assets come from our own server.

The real app runs under uvicorn (lifespan off: the docs need neither Temporal nor the chain) and
Chromium opens /docs with every request to another host blocked. The page must render the API,
under our content security policy, and nothing may have tried to leave 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Route, sync_playwright

from contracts.anvil import free_port
from settings import ROOT
from tests.certificates.test_verify_page import SECURITY_HEADERS
from tests.helpers import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("docs") / "uvicorn.log"
    env = {**os.environ, "QT_VAR_DIR": str(log.parent), "QT_LOG_FORMAT": "text"}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--lifespan", "off", "--host",
                                 "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_docs_page_names_only_our_assets(api_url: str) -> None:
    page = httpx.get(f"{api_url}/docs")
    assert page.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    assert "//" not in page.text.replace("<!doctype", "")  # no absolute URL: every asset is ours
    for asset in ("/assets/swagger-ui/swagger-ui-bundle.js", "/assets/swagger-ui/swagger-ui.css",
                  "/assets/swagger-init.js", "/assets/swagger-ui/favicon.png"):
        assert asset in page.text
        assert httpx.get(api_url + asset).status_code == 200, asset
    assert httpx.get(f"{api_url}/redoc").status_code == 404  # its page would load from a CDN


def test_docs_render_with_the_outside_world_blocked(api_url: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: `apt-get install chromium` (make test installs it)")
    outside: list[str] = []
    problems: list[str] = []

    def only_ours(route: Route) -> None:
        if route.request.url.startswith(api_url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_ours)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{api_url}/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
            assert "Qualitrail" in page.inner_text(".swagger-ui .info .title")
            page.wait_for_selector(".opblock", timeout=20_000)
            assert page.locator(".opblock").count() > 20  # every operation is listed
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(tmp_path / "docs.png"))
        finally:
            browser.close()
    assert outside == [], f"requests left the server: {outside}"
    assert problems == [], problems
