"""The feedback page in headless Chromium at phone width, in Chinese: submit, get the receipt,
follow its link, see the ticket, reply, and (once resolved) confirm with a rating and a comment.
Screenshots are checked: not blank, and the text a customer reads is on the page."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import Browser, Page

from cli.stack import Stack

PHONE = {"width": 390, "height": 844}
AGENT = {"X-API-Key": "dev-agent"}
QUALITY = {"X-API-Key": "dev-quality"}


def _shot(page: Page, path: Path, *texts: str) -> None:
    """A full-page screenshot that is not blank, of a page that holds ``texts`` and fits the phone."""
    png = page.screenshot(path=str(path), full_page=True)
    image = Image.open(io.BytesIO(png)).convert("L")
    dark = sum(count for count, value in image.getcolors(maxcolors=256) or [] if value < 128)
    assert dark > 0.005 * image.width * image.height, f"{path.name} looks blank"
    assert len(image.getcolors(maxcolors=1 << 16) or []) > 8, f"{path.name} has almost no colours"
    body = page.inner_text("body")
    for text in texts:
        assert text in body, f"{text!r} not on {path.name}"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Nothing from outside this server: every resource the page loaded is ours.
    origins = page.evaluate("[...performance.getEntriesByType('resource')].map(e => new URL(e.name).origin)")
    assert set(origins) <= {page.evaluate("location.origin")}


def test_submit_in_chinese_from_a_phone_follow_the_receipt_and_confirm(
        browser: Browser, stack: Stack, api: httpx.Client, tmp_path: Path) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{stack.config.api_url}/feedback")
    _shot(page, tmp_path / "1-form.png", "意见反馈", "提交")
    page.select_option("#kind", "complaint")
    page.fill("#text", "我要投诉：空调安装后一直漏水，师傅不接电话。")
    page.fill("#contact", "13912345678")
    page.click("#send")
    page.wait_for_selector("#reference")
    reference = page.inner_text("#reference")
    assert reference.startswith("FB-")
    _shot(page, tmp_path / "2-receipt.png", "已收到您的反馈", reference, "查看处理进度")

    page.click("#follow")
    for _ in range(120):  # triage runs in the worker: the page says so until it is done
        if page.locator("#ticket").count():
            break
        assert "正在分拣处理" in page.inner_text("#state")
        page.wait_for_timeout(500)
        page.reload()
    _shot(page, tmp_path / "3-follow.png", "已转为工单", reference)
    page.click("#ticket")
    ticket_id = "T-" + reference
    _shot(page, tmp_path / "4-ticket.png", "我的工单", ticket_id, "已受理", "服务时限（Asia/Shanghai）", "回复我们")

    # The desk answers; the customer sees the reply and writes back from the same page.
    assert api.post(f"/tickets/{ticket_id}/respond", headers=AGENT,
                    json={"message": "您好，师傅明天上午九点上门检修。"}).status_code == 200
    page.reload()
    assert "师傅明天上午九点上门检修" in page.inner_text("#replies")
    page.fill("#text", "好的，明天上午有人在家。")
    page.click("#reply-send")
    page.wait_for_selector("text=已完成")
    assert api.post(f"/tickets/{ticket_id}/resolve", headers=AGENT,
                    json={"resolution_code": "fixed", "root_cause": "installation"}).status_code == 200
    page.reload()
    assert "已解决，待您确认" in page.inner_text("#status")
    page.select_option("#rating", "4")
    page.fill("#comment", "师傅很专业，就是第一次来晚了。")
    page.click("#confirm-send")
    page.wait_for_selector("text=您的评分：4")
    _shot(page, tmp_path / "5-confirmed.png", "已关闭", "您的评分：4")
    # The rating comment and the customer's reply are kept in the service record.
    record = api.get(f"/tickets/{ticket_id}/record", headers=QUALITY).json()
    texts = {(t["kind"], t["text"]) for e in record["entries"] for t in e["texts"]}
    assert ("rating_comment", "师傅很专业，就是第一次来晚了。") in texts
    assert ("note", "好的，明天上午有人在家。") in texts
    context.close()
