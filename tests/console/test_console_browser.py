"""The console in headless Chromium against the running stack: each journey signs in through the
real form and is checked the way a person would check it, in English and Chinese, at desktop and
phone widths, with screenshots, axe-core (no serious or critical violation) and every request to
another origin blocked and failed on.
"""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, Route

from cli.stack import Stack
from settings import ROOT
from tests.console.people import PASSWORD, accept, invite, ticket_body
from tests.helpers import eventually

AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
AGENT, QUALITY, ADMIN = ({"X-API-Key": k} for k in ("dev-agent", "dev-quality", "dev-admin"))


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.api_url


class Visit:
    """One person's browser context: every request to another origin is aborted and recorded."""

    def __init__(self, browser: Browser, base: str, viewport: dict[str, int]) -> None:
        self.base, self.outside, self.errors = base, [], []  # type: ignore[var-annotated]
        self.context = browser.new_context(viewport=viewport, locale="en-US")
        self.context.route("**/*", self._only_ours)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: self.errors.append(m.text + str(m.location)) if m.type == "error" else None)

    def _only_ours(self, route: Route) -> None:
        if route.request.url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def sign_in(self, person_id: str, language: str = "en") -> None:
        page = self.page
        page.goto(f"{self.base}/console/login?lang={language}")
        page.get_by_label("Person ID" if language == "en" else "人员编号").fill(person_id)
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
        assert "/console/login" not in page.url, page.inner_text("main")

    def language(self, code: str) -> None:
        with self.page.expect_navigation():
            self.page.locator(f'header button[name="language"][value="{code}"]').click()
        assert self.page.locator("html").get_attribute("lang") == ("zh-Hans" if code == "zh" else "en")

    def close(self) -> None:
        self.context.close()
        assert self.outside == [], f"requests left the server: {self.outside}"
        assert not [e for e in self.errors if "Content Security Policy" in e or "Refused" in e], self.errors


def person(base: str, role: str, suppliers: str = "") -> str:
    person_id = f"{role.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    assert accept(base, invite(base, person_id, role, suppliers)).status_code == 303
    return person_id


def shot(page: Page, path: Path, *expected: str) -> None:
    """A screenshot that shows something (many colours, not one blank fill) and the expected words."""
    page.screenshot(path=str(path), full_page=True)
    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 20, f"{path.name} looks blank"
    text = page.inner_text("body")
    for words in expected:
        assert words in text, (path.name, words)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{path.name} scrolls sideways ({width}px)"  # type: ignore[index]


def no_serious_violations(page: Page) -> None:
    page.evaluate(AXE.read_text())  # injected by the test only: the server never serves axe-core
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


def renders_cjk(page: Page) -> bool:
    return bool(page.evaluate("""() => {
        const px = (ch) => { const c = document.createElement("canvas"); c.width = c.height = 40;
            const x = c.getContext("2d"); x.font = "32px " + getComputedStyle(document.body).fontFamily;
            x.fillText(ch, 2, 34); return Array.from(x.getImageData(0, 0, 40, 40).data).join(","); };
        const a = px("时"), b = px("限"), box = px("\\uE000");
        return a !== b && a !== box && b !== box; }"""))


def test_a_lead_sees_a_ticket_near_breach_and_assigns_it(base: str, browser: Browser, tmp_path: Path) -> None:
    lead = person(base, "supervisor")
    created = httpx.post(f"{base}/tickets", json=ticket_body(priority="P1"), headers=AGENT, timeout=60)
    assert created.status_code == 201, created.text
    ticket = created.json()["ticket"]["ticket_id"]
    visit = Visit(browser, base, DESKTOP)
    try:
        visit.sign_in(lead)
        page = visit.page
        page.goto(f"{base}/console/board?team=after-sales")
        row = page.locator(f'tr[data-ticket="{ticket}"]')
        assert row.count() == 0  # fifteen minutes to the first response: not near breach yet
        # The first response is now due in 3 minutes: inside the last quarter of P1's 15 (policy).
        policy = (ROOT / "config" / "policy.toml").read_text()
        tight = re.sub(r"(\[sla\.priorities\.P1\]\nfirst_response_minutes = )15", r"\g<1>3", policy)
        answer = httpx.put(f"{base}/tickets/{ticket}/policy", json={"policy_toml": tight}, headers=ADMIN, timeout=60)
        assert answer.status_code == 200, answer.text
        row.wait_for(timeout=30_000)  # arrives by the board's live update, without a reload
        assert "unassigned" in row.inner_text() and "P1" in row.inner_text()
        page.locator("#team-chart canvas").first.wait_for()  # ECharts, from our own server, under our CSP
        shot(page, tmp_path / "board-en-desktop.png", "Service time-limit board", "Near breach", ticket)
        no_serious_violations(page)
        with page.expect_navigation():
            row.get_by_role("link", name=ticket).click()
        page.get_by_label("Assignee").fill("agent-wang")
        with page.expect_navigation():
            page.get_by_role("button", name="Assign").click()
        assert page.locator("#done").inner_text() == "Assigned."
        assert page.locator("#ticket-assignee").inner_text() == "agent-wang"
        assert f"supervisor:{lead}" in page.inner_text(".timeline")  # the milestone names the person
        shot(page, tmp_path / "ticket-en-desktop.png", "Time limits", "Service record", "assigned")
        no_serious_violations(page)

        def certified() -> None:  # once its first milestones are anchored (every 2 s on the stack)
            page.reload()
            assert page.locator("img.qr").count() == 1
        eventually(certified, timeout=40, interval=1)
        assert "anchored" in page.inner_text(".timeline")
        qr = page.locator("img.qr")
        qr.scroll_into_view_if_needed()
        assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())).convert("RGB"))
        assert [d.text.split("?d=")[0] for d in decoded] == [f"{base}/verify/{ticket}"]
        # A change the workflow refuses is shown with its reason, not a server error.
        page.get_by_label("Hand to team").select_option("after-sales")
        page.locator("#esc_reason").fill("same team")
        with page.expect_navigation():
            page.get_by_role("button", name="Escalate").click()
        assert page.locator("#problem").is_visible()
        page.set_viewport_size(PHONE)
        visit.language("zh")
        page.goto(f"{base}/console/board?team=after-sales")
        assert renders_cjk(page)
        shot(page, tmp_path / "board-zh-phone.png", "服务时限看板", "即将超时", "agent-wang")
        no_serious_violations(page)
        page.goto(f"{base}/console/tickets/{ticket}")
        shot(page, tmp_path / "ticket-zh-phone.png", "服务时限", "服务记录", "agent-wang")
    finally:
        visit.close()


def test_quality_opens_a_meeting_and_sees_the_countdown(base: str, browser: Browser, tmp_path: Path) -> None:
    quality = person(base, "quality")
    visit = Visit(browser, base, PHONE)
    try:
        visit.sign_in(quality)
        page = visit.page
        page.goto(f"{base}/console/meetings")
        no_serious_violations(page)
        page.get_by_label("Title").fill("Parcels lost between teams")
        page.get_by_label("Problem").fill("Hand-over scans are missing")
        page.get_by_label("after-sales").check()
        page.get_by_label("logistics").check()
        page.get_by_role("button", name="Open a meeting").click()
        page.wait_for_url(re.compile(r".*/console/meetings/M-[0-9a-f]+$"))
        countdown = page.locator("#countdown")
        assert "Solution due in" in countdown.inner_text() and "within 72 hours" in countdown.inner_text()
        first = page.locator("time[data-countdown]").inner_text()
        assert re.match(r"^7[012] h \d\d min \d\d s$", first), first  # ticking every second (console.js)
        page.wait_for_timeout(1100)
        assert page.locator("time[data-countdown]").inner_text() != first
        shot(page, tmp_path / "meeting-en-phone.png", "Parcels lost between teams", "waiting", "logistics")
        no_serious_violations(page)
        page.get_by_label("Department", exact=True).select_option("logistics")
        page.get_by_label("Analysis", exact=True).fill("No scan at the hand-over desk")
        with page.expect_navigation():
            page.get_by_role("button", name="Submit the analysis").click()
        assert "logistics: submitted" in page.inner_text(".departments")
        visit.language("zh")
        page.set_viewport_size(DESKTOP)
        assert renders_cjk(page)
        shot(page, tmp_path / "meeting-zh-desktop.png", "距方案期限还剩", "72 小时内提交", "已提交")
        no_serious_violations(page)
    finally:
        visit.close()


def test_a_supplier_manager_sees_the_ten_percent_line(base: str, browser: Browser, tmp_path: Path) -> None:
    sid, other = f"sup-{uuid.uuid4().hex[:8]}", f"sup-{uuid.uuid4().hex[:8]}"
    for supplier in (sid, other):
        body = {"supplier_id": supplier, "name": f"CleanCo {supplier}", "contract_value": 1_000_000, "currency": "CNY"}
        assert httpx.post(f"{base}/suppliers", json=body, headers=QUALITY, timeout=60).status_code == 201
    for i in range(3):  # "major" takes 2 % of the contract each: 6 % in all, under the 10 % line
        answer = httpx.post(f"{base}/suppliers/{sid}/deductions", headers=QUALITY, timeout=60,
                            json={"incident_id": f"{sid}-{i}", "severity": "major"})
        assert answer.status_code == 201, answer.text

    def recorded() -> None:
        rows = httpx.get(f"{base}/suppliers/{sid}/deductions", headers=QUALITY, timeout=30).json()
        assert len(rows) == 3
    eventually(recorded, timeout=30)
    manager = person(base, "supplier_manager", sid)
    visit = Visit(browser, base, DESKTOP)
    try:
        visit.sign_in(manager)
        page = visit.page
        assert page.url.endswith("/console/suppliers"), page.url
        text = page.inner_text("main")
        assert sid in text and other not in text  # only the manager's own suppliers
        shot(page, tmp_path / "suppliers-en-desktop.png", "Suppliers and deductions", "6.0 % / 10 %")
        no_serious_violations(page)
        with page.expect_navigation():
            page.get_by_role("link", name=f"CleanCo {sid}").click()
        assert page.locator("#exit-line").inner_text() == "10 % of the contract (CN¥1,000.00)"
        assert page.locator("#deduction-total").inner_text() == "CN¥600.00 (3)"
        assert page.get_by_role("img", name="Deductions are 6.0 % of the contract; the exit line is 10 %").is_visible()
        line = page.locator(".bar .line").bounding_box()
        fill = page.locator(".bar .fill").bounding_box()
        assert line and fill and fill["width"] > 0 and line["x"] > fill["x"] + fill["width"]  # drawn: 6 % left of 10 %
        shot(page, tmp_path / "supplier-en-desktop.png", "Exit line", "No exit process.")
        no_serious_violations(page)
        assert visit.page.goto(f"{base}/console/suppliers/{other}").status == 404  # type: ignore[union-attr]
        page.goto(f"{base}/console/suppliers/{sid}")
        visit.language("zh")
        page.set_viewport_size(PHONE)
        assert renders_cjk(page)
        shot(page, tmp_path / "supplier-zh-phone.png", "退出线", "合同额的 10%（¥1,000.00）")
        no_serious_violations(page)
    finally:
        visit.close()


def test_an_administrator_invites_and_the_sign_in_pages_are_accessible(base: str, browser: Browser,
                                                                         tmp_path: Path) -> None:
    admin = person(base, "admin")
    visit = Visit(browser, base, PHONE)
    try:
        page = visit.page
        page.goto(f"{base}/console/login?lang=zh")
        shot(page, tmp_path / "login-zh-phone.png", "登录", "人员编号")
        no_serious_violations(page)
        visit.sign_in(admin)
        assert page.url.endswith("/console/admin")
        newcomer = f"new-{uuid.uuid4().hex[:6]}"
        page.get_by_label("Person ID").fill(newcomer)
        page.get_by_label("Name").fill("Newcomer")
        page.get_by_label("E-mail").fill("new@example.cn")
        page.get_by_label("Role", exact=True).select_option("team_head")
        with page.expect_navigation():
            page.get_by_role("button", name="Invite").click()
        link = page.locator("#link").input_value()
        assert link.startswith(f"{base}/console/invite#")
        shot(page, tmp_path / "admin-en-phone.png", "Users and roles", newcomer, "team head")
        no_serious_violations(page)
        # The supervision pages, in Chinese at phone width, as the administrator (who may open them all).
        visit.language("zh")
        for path, words in [("/console/spot-checks", "抽检复核队列"), ("/console/veto", "质量否决"),
                            ("/console/vouchers", "补偿券"), ("/console/board", "服务时限看板"),
                            ("/console/evaluations/new", "神秘顾客评估录入"), ("/console/cases?q=漏水", "案例库检索")]:
            page.goto(base + path)
            shot(page, tmp_path / f"{re.sub(r'[^a-z]+', '-', path)}zh-phone.png", words)
            no_serious_violations(page)
        page.goto(link)  # the code moves from the fragment into the form
        assert page.locator("#token").input_value() == link.split("#", 1)[1] and "#" not in page.url
        no_serious_violations(page)
    finally:
        visit.close()
