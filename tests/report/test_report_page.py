"""The public report page in headless Chromium at phone width, in Chinese and English, and the public
routes against hostile input (bad months, bad languages, lone surrogates, huge paths, floods).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Browser

from domain.report import digest
from settings import Settings, get_settings
from tests.helpers import serve_api_with
from tests.report.conftest import Anchored, Published
from tests.report.planted import MONTH

PHONE = {"width": 390, "height": 844}


def _screenshot_has_content(path: Path) -> None:
    image = Image.open(path).convert("L")
    assert image.width >= 390 and image.height > 844, image.size
    assert ImageStat.Stat(image).stddev[0] > 20, "the screenshot is blank"
    assert sum(image.histogram()[:128]) > 0.005 * image.width * image.height, "no dark ink (text, bars) drawn"


@pytest.mark.parametrize(("locale", "lang", "words"), [
    ("zh-CN", "zh-Hans", ("月度服务质量报告", "三大问题", "首次响应: 77.8%", "质量一票否决名单", "客户反馈",
               "观察员建议 4 条，已答复 2 条，时限内答复 1 条 (25.0%)", "收到反馈 11 条（重复 1 条）")),
    ("en-US", "en", ("Service quality report", "TOP 3 problems", "First response: 77.8%", "Quality veto list",
                     "Customer feedback", "Observer suggestions: 4 received, 2 answered, 1 within their target (25.0%)",
                     "Triage: ticket 6, attached 1, suggestion 1, spam 1, pending 1"))])
def test_the_page_at_phone_width_in_both_languages(anchored: Anchored, browser: Browser, tmp_path: Path,
                                                   locale: str, lang: str, words: tuple[str, ...]) -> None:
    outside: list[str] = []
    context = browser.new_context(locale=locale, viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(anchored.url) else None)
    try:
        page.goto(f"{anchored.url}/reports/{MONTH}")
        assert page.get_attribute("html", "lang") == lang
        text = page.inner_text("body")
        for w in words:
            assert w in text, w
        # TOP 3 in order, each with its trend against the earlier months.
        causes = page.locator("ol.top > li").evaluate_all("els => els.map(e => e.dataset.cause)")
        assert causes == ["parts_delay", "billing_error", "rude_agent"]
        # (This read model also holds the certificate world's three November tickets: 3 of 13 this month.)
        assert "– → 10.0% → 15.0% → 23.1%" in page.inner_text('[data-cause="parts_delay"] .trend')
        assert page.locator("svg.chart").count() == 4  # SLA bars + one trend per problem, drawn on the server
        # The anchor: the report's hash as published, the leaf, and the chain transaction.
        report = httpx.get(f"{anchored.url}/reports/{MONTH}.json", timeout=30).json()
        assert page.inner_text("#report-hash") == digest(report)
        assert page.inner_text("#anchor-leaf").startswith("0x")
        assert "0x" in page.inner_text("#anchor") and ("区块" in text or "block" in text)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot = tmp_path / f"report-{lang}-390.png"
        page.screenshot(path=str(shot), full_page=True)
        _screenshot_has_content(shot)
        assert outside == [], f"loaded from outside our server: {outside}"
    finally:
        context.close()


def test_the_json_is_the_hashed_report_and_the_pdf_follows_the_language(anchored: Anchored) -> None:
    answer = httpx.get(f"{anchored.url}/reports/{MONTH}.json", timeout=30)
    export = json.loads(anchored.export.read_text())
    assert answer.status_code == 200 and digest(answer.json()) == export["anchor"]["milestone"]["data"]["report_hash"]
    assert httpx.get(f"{anchored.url}/reports", timeout=30).json() == {"months": [MONTH]}
    zh = httpx.get(f"{anchored.url}/reports/{MONTH}.pdf", headers={"Accept-Language": "zh-CN"}, timeout=30)
    en = httpx.get(f"{anchored.url}/reports/{MONTH}.pdf", params={"lang": "en"}, timeout=30)
    assert zh.headers["content-type"] == en.headers["content-type"] == "application/pdf"
    assert zh.headers["content-language"] == "zh-Hans" and en.headers["content-language"] == "en"
    assert zh.content.startswith(b"%PDF") and zh.content != en.content


@pytest.mark.parametrize(("path", "code", "field"), [
    ("/reports/2026-13", 422, "month"), ("/reports/2026-1", 422, "month"), ("/reports/abcd-ef.json", 422, "month"),
    ("/reports/2026-10", 404, "month"), ("/reports/2026-10.pdf", 404, "month"),
    ("/reports/2026-10/export.json", 404, "month"), (f"/reports/{MONTH}?lang=fr", 422, "lang"),
    (f"/reports/{MONTH}.pdf?lang=%F0%9F%98%80", 422, "lang"), (f"/reports/{MONTH}?lang=%ED%A0%80", 422, "lang"),
    ("/reports/" + "9" * 5000, 422, "month"), ("/reports/%ED%A0%80", 422, "month")])
def test_hostile_input_is_a_clear_4xx_naming_the_field(anchored: Anchored, path: str, code: int, field: str) -> None:
    answer = httpx.get(anchored.url + path, timeout=30)
    assert answer.status_code == code, answer.text
    assert field in answer.text


def test_a_flood_from_one_address_gets_429_with_retry_after(published: Published,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The report routes share the public per-address limit (QT_PUBLIC_RATE_LIMIT) with /verify.
    monkeypatch.setenv("QT_PUBLIC_RATE_LIMIT", "3/minute")
    get_settings.cache_clear()
    try:
        settings = Settings(database_url=published.db_url, var_dir=published.tmp)  # type: ignore[call-arg]
    finally:
        get_settings.cache_clear()
    with serve_api_with(settings) as url:
        answers = [httpx.get(f"{url}/reports/{MONTH}.json", timeout=30) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        for path in (f"/reports/{MONTH}", f"/reports/{MONTH}.pdf", f"/reports/{MONTH}/export.json", "/reports"):
            limited = httpx.get(url + path, timeout=30)
            assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60, path
