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
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page

from api.tokens import customer_token
from contracts.anvil import free_port
from settings import ROOT
from tests.certificates.conftest import AuditRunner
from tests.certificates.world import CUSTOMER_REF, DESCRIPTION, SIGNER, World, copy_world, tamper

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


def _qr_url(server: Server, tmp_path: Path, name: str = "qr.png") -> tuple[str, Path]:
    response = httpx.get(f"{server.url}/tickets/{server.world.ticket}/certificate.png", headers=STAFF, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    png = tmp_path / name
    png.write_bytes(response.content)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert len(decoded) == 1
    return decoded[0].text, png


# Answers of ours carry these (api/headers.py); the page must still work under its policy.
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
                    "referrer-policy": "no-referrer"}
PHONE = {"width": 390, "height": 844}


def _open(browser: Browser, url: str, locale: str = "en-US", **context: Any) -> Page:
    """A page in a fresh context whose browser asks for ``locale`` (Accept-Language)."""
    page = browser.new_context(locale=locale, **context).new_page()
    page.goto(url)
    return page


def _close(page: Page) -> None:
    page.context.close()


def _renders_cjk(page: Page) -> bool:
    """Whether Chinese characters are drawn as glyphs: without a CJK font each one is the same
    empty box, like a private-use character's."""
    return bool(page.evaluate("""() => {
        const pixels = (ch) => {
            const canvas = document.createElement("canvas");
            canvas.width = canvas.height = 40;
            const ctx = canvas.getContext("2d");
            ctx.font = "32px " + getComputedStyle(document.body).fontFamily;
            ctx.fillText(ch, 2, 34);
            return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(",");
        };
        const yan = pixels("验"), zheng = pixels("证"), box = pixels("\uE000");
        return yan !== zheng && yan !== box && zheng !== box;
    }"""))


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
        # Money by the currency's minor units: 2000 fen is twenty yuan.
        assert "worth CN¥20.00, valid, not yet redeemed" in text
        assert "CN¥20.00 (for the missed first response time limit)" in page.inner_text(".vouchers")
        assert "2000" not in page.inner_text(".vouchers")
        html = page.content()
        for secret in (CUSTOMER_REF, DESCRIPTION, "Jane", "customer_ref_hash"):
            assert secret not in html
        assert page.evaluate("document.characterSet") == "UTF-8"
    finally:
        _close(page)


def test_page_runs_under_security_headers_and_loads_nothing_from_outside(server: Server, browser: Browser,
                                                                        tmp_path: Path) -> None:
    url, _ = _qr_url(server, tmp_path)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    violations: list[str] = []
    requested: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("request", lambda request: requested.append(request.url))
    try:
        response = page.goto(url)
        assert response is not None and response.status == 200
        headers = response.headers
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, name
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        page.wait_for_load_state("networkidle")
        # The stylesheet is a file of ours, so the page is styled under style-src 'self'.
        assert page.eval_on_selector("#verdict", "e => getComputedStyle(e).borderTopStyle") == "solid"
        assert violations == []
        assert requested and all(u.startswith(server.url + "/") for u in requested), requested
    finally:
        context.close()
    # JSON answers and errors carry them too.
    for answer in (httpx.get(f"{server.url}/verify/{server.world.ticket}", headers={"Accept": "application/json"}),
                   httpx.get(f"{server.url}/tickets/T-NOPE/certificate", headers=STAFF),
                   httpx.get(f"{server.url}/assets/verify.css")):
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_chinese_page_at_phone_width(server: Server, browser: Browser, tmp_path: Path) -> None:
    url, _ = _qr_url(server, tmp_path)
    page = _open(browser, url, locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True)
    try:
        assert page.get_attribute("html", "lang") == "zh-Hans"
        verdict = page.inner_text("#verdict")
        assert "已验证：所有检查均通过。" in verdict and "该服务记录真实、完整" in verdict
        assert page.locator('[data-check="hash_chain"] h2').inner_text().startswith("✔服务记录完整且顺序正确")
        text = page.inner_text("body")
        assert "已超出服务时限（首次响应）" in text
        # The first step was at 01:37 UTC: 09:37 in the policy's zone (Asia/Shanghai), named as such.
        assert "2026-11-25 09:37:00" in text and "2026-11-25 01:37:00" not in text
        assert page.locator(".steps th").nth(2).text_content() == "时间（中国时间）"
        assert "代金券" in text and "¥20.00" in page.inner_text(".vouchers")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert _renders_cjk(page), "Chinese text draws as boxes: install a CJK font (make test does)"
        page.screenshot(path=str(tmp_path / "verify-zh-390.png"), full_page=True)
        # The switch keeps the QR digest and shows the same record in English.
        page.click('nav.lang a[data-lang="en"]')
        page.wait_for_load_state()
        assert page.get_attribute("html", "lang") == "en"
        assert f"d={url.split('d=')[1]}" in page.url and "lang=en" in page.url
        assert "Verified: every check passed." in page.inner_text("#verdict")
        assert "2026-11-25 09:37:00" in page.inner_text("body")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        _close(page)


def test_language_follows_accept_language_unless_asked(server: Server) -> None:
    form = f"{server.url}/verify"
    zh = httpx.get(form, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-Hans">' in zh.text and "验证证书文件" in zh.text
    assert zh.headers["content-language"] == "zh-Hans" and "Accept-Language" in zh.headers["vary"]
    en = httpx.get(form, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in en.text and "Check a certificate file" in en.text
    asked = httpx.get(form, params={"lang": "en"}, headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in asked.text and 'action="/verify?lang=en"' in asked.text
    assert httpx.get(form, params={"lang": "fr"}).status_code == 422


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
        assert "CN¥20.00" in page.inner_text("body")  # the voucher, as money (2000 minor units)
        page.set_input_files('input[name="certificate"]', str(bad))
        page.click("button[type=submit]")
        assert page.locator("#verdict").get_attribute("data-verdict") == "failed"
        assert page.locator('[data-check="digest"]').get_attribute("data-status") == "fail"
        # An upload is anyone's file: after a failed offline check the chain is not asked at all.
        assert page.locator('[data-check="root_on_chain"]').get_attribute("data-status") == "skip"
        assert page.locator('[data-check="voucher"]').count() == 0
    finally:
        _close(page)
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
        _close(page)
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
        _close(page)
    # And the auditor's tool, given the old photo, refuses the server's changed record.
    result = run_audit("verify", str(png), "--rpc", server.world.rpc_url, "--signer", SIGNER)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  Matches the QR code" in result.stdout
