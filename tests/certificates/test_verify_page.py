"""The public verification page in headless Chromium, reached through the QR code's URL.

A tiny app with just the certificate and verification routers runs under real uvicorn in a
subprocess, pointed at its own copy of the read model through QT_ variables. The QR PNG is decoded
with zxing-cpp, and the decoded URL is opened in Debian's chromium via Playwright.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from api.tokens import customer_token
from contracts.anvil import free_port
from settings import ROOT
from tests.certificates.conftest import AuditRunner
from tests.certificates.world import CUSTOMER_REF, DESCRIPTION, SIGNER, World, copy_world, tamper

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STAFF = {"X-API-Key": "dev-auditor"}


@dataclass
class Server:
    url: str
    world: World


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    mine = copy_world(world, tmp_path_factory.mktemp("page"))  # this module tampers with its database
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **mine.env(QT_PUBLIC_BASE_URL=url)}
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.certificates.webapp:app", "--host",
                                 "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/verify", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield Server(url, mine)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: `apt-get install chromium` (make test installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _qr_url(server: Server, tmp_path: Path, name: str = "qr.png") -> tuple[str, Path]:
    response = httpx.get(f"{server.url}/tickets/{server.world.ticket}/certificate.png", headers=STAFF, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    png = tmp_path / name
    png.write_bytes(response.content)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert len(decoded) == 1
    return decoded[0].text, png


def _open(browser: Browser, url: str) -> Page:
    page = browser.new_page()
    page.goto(url)
    return page


def test_qr_code_opens_a_verified_page(server: Server, browser: Browser, tmp_path: Path) -> None:
    url, _ = _qr_url(server, tmp_path)
    cert = httpx.get(f"{server.url}/tickets/{server.world.ticket}/certificate", headers=STAFF).json()
    assert url == f"{server.url}/verify/{server.world.ticket}?d={cert['digest']}"
    page = _open(browser, url)
    try:
        verdict = page.locator("#verdict")
        assert verdict.get_attribute("data-verdict") == "verified"
        assert "Verified: every check passed." in verdict.inner_text()
        for name in ("qr", "digest", "signature", "hash_chain", "inclusion", "root_on_chain", "voucher"):
            assert page.locator(f'[data-check="{name}"]').get_attribute("data-status") == "pass", name
        text = page.inner_text("body")
        assert "Service time limit missed (first response)" in text
        assert "confirmation" in text  # confirmations of the anchors, in plain words
        assert "1 newer step(s) are waiting to be anchored" in text
        assert "worth 2000 CNY, valid, not yet redeemed" in text
        html = page.content()
        for secret in (CUSTOMER_REF, DESCRIPTION, "Jane", "customer_ref_hash"):
            assert secret not in html
        assert page.evaluate("document.characterSet") == "UTF-8"
    finally:
        page.close()


def test_auditor_verifies_the_qr_photo(server: Server, tmp_path: Path, run_audit: AuditRunner) -> None:
    _, png = _qr_url(server, tmp_path)
    saved = tmp_path / "fetched.json"
    result = run_audit("verify", str(png), "--rpc", server.world.rpc_url, "--signer", SIGNER, "--save", str(saved))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  Matches the QR code" in result.stdout
    assert "Verified: every check passed." in result.stdout
    assert saved.exists()


def test_upload_form_checks_a_file(server: Server, browser: Browser, tmp_path: Path) -> None:
    cert = httpx.get(f"{server.url}/tickets/{server.world.ticket}/certificate", headers=STAFF)
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(cert.content)
    bad.write_bytes(cert.content.replace(b'"amount": 2000', b'"amount": 9000'))
    page = _open(browser, f"{server.url}/verify")
    try:
        page.set_input_files('input[name="certificate"]', str(good))
        page.click("button[type=submit]")
        assert page.locator("#verdict").get_attribute("data-verdict") == "verified"
        page.set_input_files('input[name="certificate"]', str(bad))
        page.click("button[type=submit]")
        assert page.locator("#verdict").get_attribute("data-verdict") == "failed"
        assert page.locator('[data-check="digest"]').get_attribute("data-status") == "fail"
        assert "worth 2000 on chain, the certificate says 9000" in page.inner_text("body")
    finally:
        page.close()
    raw = httpx.post(f"{server.url}/verify", content=cert.content, headers={"Content-Type": "application/json"})
    assert raw.status_code == 200 and 'data-verdict="verified"' in raw.text


def test_access_rules(server: Server) -> None:
    ticket = server.world.ticket
    base = f"{server.url}/tickets/{ticket}/certificate"
    assert httpx.get(base).status_code == 401
    assert httpx.get(base, headers={"X-API-Key": "dev-merchant"}).status_code == 403
    settings = server.world.settings()
    token = customer_token(settings, ticket, 1)
    assert httpx.get(base, headers={"X-Customer-Token": token}).status_code == 200
    assert httpx.get(base, headers={"X-Customer-Token": customer_token(settings, ticket, 2)}).status_code == 403
    svg = httpx.get(f"{base}.svg", headers={"X-Customer-Token": token})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert httpx.get(f"{server.url}/tickets/T-NOPE/certificate", headers=STAFF).status_code == 404
    # JSON behind the QR URL only for the digest the QR carries.
    json_headers = {"Accept": "application/json"}
    # A wrong or missing digest answers like an unknown ticket (tests/certificates/test_public_access.py).
    assert httpx.get(f"{server.url}/verify/{ticket}?d=0x{'00' * 32}", headers=json_headers).status_code == 404
    assert httpx.get(f"{server.url}/verify/{ticket}", headers=json_headers).status_code == 404


def test_tampered_record_shows_the_failure(server: Server, browser: Browser, tmp_path: Path,
                                           run_audit: AuditRunner) -> None:
    url, png = _qr_url(server, tmp_path)  # the customer's QR code, made before the edit
    tamper(server.world.db_url, "UPDATE milestone SET at = ? WHERE subject = ? AND seq = 2",
           "2026-11-25T01:59:59.000000Z", server.world.ticket)
    page = _open(browser, url)
    try:
        # The old QR code's digest matches nothing the server holds now: the page fails, and shows no
        # record (a digest that matches nothing must not open one).
        assert page.locator("#verdict").get_attribute("data-verdict") == "failed"
        verdict = page.locator("#verdict").inner_text()
        assert "NOT VERIFIED" in verdict and "Matches the QR code" in verdict
        assert page.locator('[data-check="qr"]').get_attribute("data-status") == "fail"
        assert page.locator('[data-check="hash_chain"]').count() == 0
    finally:
        page.close()
    # A QR code made after the edit carries the tampered certificate's own digest: the page still
    # fails, on the hash chain.
    fresh_url, _ = _qr_url(server, tmp_path, "fresh.png")
    assert fresh_url != url
    page = _open(browser, fresh_url)
    try:
        assert page.locator("#verdict").get_attribute("data-verdict") == "failed"
        assert page.locator('[data-check="qr"]').get_attribute("data-status") == "pass"
        assert page.locator('[data-check="hash_chain"]').get_attribute("data-status") == "fail"
    finally:
        page.close()
    # And the auditor's tool, given the old photo, refuses the server's changed record.
    result = run_audit("verify", str(png), "--rpc", server.world.rpc_url, "--signer", SIGNER)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  Matches the QR code" in result.stdout
