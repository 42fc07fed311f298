"""The observer's pages on the whole stack: over real HTTP (token, hostile fields named, the round's
review form) and in headless Chromium at phone width in Chinese (suggestion → receipt with the
ticket's reference and link)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Browser
from temporalio.client import Client

from cli.stack import Stack
from domain.observers import RoundInput
from tests.feedback.test_feedback_browser import PHONE, _shot
from tests.helpers import altered, eventually

QUALITY = {"X-API-Key": "dev-quality"}
AGENT = {"X-API-Key": "dev-agent"}
QUARTER = "2032-Q3"  # a round of its own (tests/feedback/test_observers_api.py runs 2031-Q2)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _enrol(api: httpx.Client, name: str) -> tuple[str, str]:
    observer = f"obs-{uuid.uuid4().hex[:8]}"
    answer = api.put(f"/observers/{observer}", json={"name": name, "contact": "13600000002"}, headers=QUALITY)
    assert answer.status_code == 200, answer.text
    return observer, answer.json()["token"]


async def _round(stack: Stack, *, end: bool = False) -> None:
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    if end:  # nothing of this test left running on the shared server
        await client.get_workflow_handle(f"observer-round-{QUARTER}").terminate("test over")
        return
    await client.execute_workflow("ObserverKickoffWorkflow", RoundInput(QUARTER), id=f"kick-{uuid.uuid4()}",
                                  task_queue="qualitrail-tickets")


def test_observer_page_token_suggestion_and_review_over_http(api: httpx.Client, stack: Stack) -> None:
    observer, token = _enrol(api, "王先生")
    page = f"/observers/{observer}/page"
    # The link's token is the only credential: without it, or with a wrong one or someone else's, a
    # page that names the token, 404 (as the customer's page: it does not tell who is an observer).
    for params in ({}, {"token": altered(token)}):
        answer = api.get(page, params={**params, "lang": "zh"})
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
        assert "token" in answer.text and "链接无效" in answer.text
    assert api.get("/observers/obs-nobody1/page", params={"token": token}).status_code == 404
    home = api.get(page, params={"token": token}, headers={"Accept-Language": "zh-CN"})
    assert home.status_code == 200 and "王先生" in home.text and 'id="no-round"' in home.text
    assert 'name="token" value="' + token + '"' in home.text  # a form field, no cookie
    assert "set-cookie" not in home.headers

    # A form posted from elsewhere has no token: refused before anything is read or stored.
    forged = api.post(f"{page}/suggestion", content="text=hello", headers=FORM)
    assert forged.status_code == 404 and "token" in forged.text
    assert api.post(f"{page}/suggestion", json={"token": token, "text": "x"}).status_code == 415
    # Hostile fields: the page again, 422, naming the field.
    for body in (f"token={token}&lang=en&text=", f"token={token}&lang=en&text=%ED%A0%80",
                 f"token={token}&lang=en&text=a%00b", f"token={token}&lang=en&text=" + "x" * 6000):
        bad = api.post(f"{page}/suggestion", content=body, headers=FORM)
        assert bad.status_code == 422 and "Write your suggestion" in bad.text, body[:60]
    assert api.post(f"{page}/suggestion", content=f"token={token}&" + "&".join(f"f{i}=1" for i in range(30)),
                    headers=FORM).status_code == 413

    receipt = api.post(f"{page}/suggestion", content=f"token={token}&lang=en&text=Call+an+hour+before+the+visit",
                       headers=FORM)
    assert receipt.status_code == 202, receipt.text
    reference = re.search(r'id="reference">([^<]+)<', receipt.text)
    ticket = re.search(r'id="ticket-ref">([^<]+)<', receipt.text)
    follow = re.search(r'id="follow" href="([^"]+)"', receipt.text)
    assert reference and ticket and follow and ticket.group(1) == "T-" + reference.group(1)
    assert api.get(follow.group(1).replace("&amp;", "&")).status_code == 200

    def opened() -> None:
        t = api.get(f"/tickets/{ticket.group(1)}", headers=AGENT)
        assert t.status_code == 200 and t.json()["category"] == "observer_suggestion", t.text
    eventually(opened, timeout=60, interval=0.5)

    # A round invites the observer: the page grows the review form.
    asyncio.run(_round(stack))
    try:
        def review_form() -> None:
            assert 'id="review-send"' in api.get(page, params={"token": token, "lang": "en"}).text
        eventually(review_form, timeout=60, interval=0.5)
        review = f"{page}/review"
        base = f"token={token}&lang=en&quarter={QUARTER}"
        bad = api.post(review, content=f"{base}&process=Installation!&score=9", headers=FORM)
        assert bad.status_code == 422 and "Choose a service process" in bad.text and "score from 1 to 5" in bad.text
        bad = api.post(review, content=f"token={token}&lang=en&quarter=2032-Q9&process=intake&score=4", headers=FORM)
        assert bad.status_code == 422 and "The round is not valid" in bad.text
        assert api.post(review, content=f"{base}&process=intake&score=4", headers={**FORM, "Content-Type": "text/plain"}
                        ).status_code == 415
        done = api.post(review, content=f"{base}&process=first_response&score=4&comment=%E5%87%86%E6%97%B6",
                        headers=FORM)
        assert done.status_code == 200 and 'id="review-done"' in done.text and "First response" in done.text
        again = api.post(review, content=f"{base}&process=first_response&score=2", headers=FORM)
        assert again.status_code == 409 and "already reviewed" in again.text
        state = api.get(f"/observers/rounds/{QUARTER}", headers=QUALITY).json()
        assert state["reviewed"][observer] == ["first_response"]
    finally:
        asyncio.run(_round(stack, end=True))


def test_observer_suggests_from_a_phone_in_chinese(browser: Browser, stack: Stack, api: httpx.Client,
                                                   tmp_path: Path) -> None:
    observer, token = _enrol(api, "陈女士")
    context = browser.new_context(locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(stack.config.api_url) else None)
    page.goto(f"{stack.config.api_url}/observers/{observer}/page?token={token}")
    _shot(page, tmp_path / "1-observer.png", "观察员", "陈女士", "提出建议", "提交建议")
    page.fill("#text", "建议：上门前一小时发短信提醒，并告知师傅姓名。")
    page.click("#send")
    page.wait_for_selector("#ticket-ref")
    _shot(page, tmp_path / "2-receipt.png", "已收到您的反馈", "工单编号", "查看处理进度")
    reference = page.inner_text("#reference")
    assert page.inner_text("#ticket-ref") == "T-" + reference
    page.click("#follow")
    page.wait_for_selector("#state")
    _shot(page, tmp_path / "3-follow.png", "反馈进度", reference)
    assert outside == []
    context.close()
