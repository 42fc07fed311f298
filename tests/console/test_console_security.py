"""The console's doors over real HTTP against the running stack: sessions, roles, CSRF, cookies,
lock-out, passwords kept out of logs, and hostile form input answered with a 4xx naming the field.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from cli.stack import Stack
from tests.console.people import ADMIN_KEY, PASSWORD, Person, accept, cookies_of, form_page, invite, login, new_person
from tests.helpers import eventually

PAGES = ["/console", "/console/board", "/console/board/rows", "/console/tickets/T-nope-000",
         "/console/tickets/T-nope-000/qr.svg", "/console/meetings", "/console/meetings/M-nope-000",
         "/console/suppliers", "/console/suppliers/sup-nope", "/console/points", "/console/admin",
         "/console/preferences", "/console/spot-checks", "/console/veto", "/console/vouchers",
         "/console/evaluations/new", "/console/cases", "/console/root-causes", "/console/proposals",
         "/console/proposals/P-0000000000000000", "/console/spot-checks/2025-01/tasks/T-nope-000"]
POSTS = ["/console/evaluations/new", "/console/suppliers/sup-nope/appeal", "/console/suppliers/sup-nope/decision",
         "/console/logout", "/console/preferences", "/console/tickets/T-nope-000/assign",
         "/console/tickets/T-nope-000/cancel", "/console/meetings", "/console/meetings/M-nope-000/analyses",
         "/console/admin/invite", "/console/admin/role", "/console/proposals/P-0000000000000000/accept",
         "/console/proposals/P-0000000000000000/reject", "/console/spot-checks/2025-01/tasks/T-nope-000"]
WRONG = "wrong-password-never-logged-7"
# What each role may open (200) and what it may not (403); admin may open everything.
ACCESS = {
    "agent": ({"/console/board", "/console/meetings", "/console/points", "/console/vouchers"},
              {"/console/suppliers", "/console/admin", "/console/spot-checks", "/console/veto"}),
    "supervisor": ({"/console/board", "/console/meetings", "/console/suppliers", "/console/points",
                    "/console/root-causes", "/console/proposals"},
                   {"/console/admin"}),
    "quality": ({"/console/board", "/console/meetings", "/console/suppliers", "/console/points",
                 "/console/spot-checks", "/console/veto", "/console/vouchers", "/console/root-causes",
                 "/console/proposals"}, {"/console/admin"}),
    "auditor": ({"/console/board", "/console/meetings", "/console/suppliers"}, {"/console/points", "/console/admin"}),
    "team_head": ({"/console/board", "/console/meetings"}, {"/console/suppliers", "/console/points"}),
    "supplier_manager": ({"/console/suppliers"}, {"/console/board", "/console/meetings", "/console/points"}),
    "merchant": (set(), {"/console/board", "/console/suppliers", "/console/admin"}),
    "reviewer": ({"/console/spot-checks"}, {"/console/board", "/console/admin", "/console/veto",
                                           "/console/root-causes", "/console/proposals"}),
    "external_evaluator": (set(), {"/console/board", "/console/admin"}),
    "admin": ({"/console/board", "/console/meetings", "/console/suppliers", "/console/points", "/console/admin",
               "/console/spot-checks", "/console/veto", "/console/vouchers"},
              set()),
}


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.api_url


@pytest.fixture(scope="module")
def people(base: str) -> dict[str, Person]:
    return {role: new_person(base, role, "*" if role == "supplier_manager" else "") for role in ACCESS}


def test_no_page_without_a_session(base: str) -> None:
    for path in PAGES:
        answer = httpx.get(base + path, follow_redirects=False, timeout=30)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/login?next="), path
        assert "<table" not in answer.text
    for path in POSTS:  # a form without a session does nothing and asks to sign in
        answer = httpx.post(base + path, data={"csrf": "x"}, follow_redirects=False, timeout=30)
        assert answer.status_code == 401 and 'href="/console/login"' in answer.text, path
    # A live update of the board after the session ended tells htmx to go to the sign-in page.
    answer = httpx.get(base + "/console/board/rows", headers={"HX-Request": "true"}, timeout=30)
    assert answer.status_code == 401 and answer.headers["hx-redirect"] == "/console/login"
    # A forged cookie is no session either.
    forged = httpx.get(base + "/console/board", headers={"Cookie": "qt_console=" + "A" * 43}, timeout=30)
    assert forged.status_code == 303


def test_each_role_opens_its_pages_and_is_refused_the_others(people: dict[str, Person]) -> None:
    for role, (allowed, refused) in ACCESS.items():
        person = people[role]
        for path in allowed:
            answer = person.get(path)
            assert answer.status_code == 200, (role, path, answer.text[:300])
            assert person.person_id in answer.text
        for path in refused:
            answer = person.get(path)
            assert answer.status_code == 403, (role, path)
            assert "may not open this page" in answer.text and answer.headers["content-type"].startswith("text/html")


def test_wrong_role_cannot_act(people: dict[str, Person], base: str) -> None:
    ticket = "T-nope-000"
    # An agent may assign but not cancel (supervisors only, as in the API).
    assert people["agent"].post(f"/console/tickets/{ticket}/cancel", {"reason": "spam"}).status_code == 403
    assert people["auditor"].post(f"/console/tickets/{ticket}/assign", {"assignee": "x"}).status_code == 403
    assert people["agent"].post("/console/meetings", {"title": "x"}).status_code == 403
    assert people["quality"].post("/console/admin/invite", {"person_id": "zed"}).status_code == 403
    # The machine door for invitations takes the admin API key only.
    body = {"person_id": "nobody-x", "display_name": "N", "email": "n@example.cn", "role": "admin"}
    assert httpx.post(f"{base}/console/api/invitations", json=body, timeout=30).status_code == 401
    assert httpx.post(f"{base}/console/api/invitations", json=body, headers={"X-API-Key": "dev-quality"},
                      timeout=30).status_code == 403


def test_every_form_needs_its_csrf_token(people: dict[str, Person], base: str) -> None:
    agent = people["agent"]
    for path, data in [("/console/preferences", {"language": "zh"}), ("/console/logout", {}),
                       ("/console/tickets/T-nope-000/assign", {"assignee": "x"})]:
        assert agent.post(path, data, csrf=False).status_code == 403, path
        assert agent.post(path, {**data, "csrf": "not-the-token"}, csrf=False).status_code == 403, path
    # Another person's token is not this session's.
    other = people["quality"].csrf
    assert agent.post("/console/preferences", {"language": "zh", "csrf": other}, csrf=False).status_code == 403
    # The sign-in form: the field must match its own cookie.
    csrf, _ = form_page(base, "/console/login")
    answer = httpx.post(f"{base}/console/login", data={"csrf": csrf, "person_id": agent.person_id,
                                                      "password": PASSWORD}, timeout=30)
    assert answer.status_code == 403 and "csrf" in answer.text
    assert agent.get("/console/board").status_code == 200  # nothing above changed the session


def test_session_cookie_flags_and_sign_out(base: str) -> None:
    person = new_person(base, "agent")
    answer = login(base, person.person_id)
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("qt_console="))
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert "httponly" in flags and "secure" in flags
    assert flags["samesite"].lower() == "samesite=strict" and flags["path"] == "Path=/console"
    token = cookies_of(answer)["qt_console"]
    assert len(token) >= 40
    session = Person(base, person.person_id, "agent", {"qt_console": token}, person.csrf)
    session.csrf = form_csrf(session)
    assert session.post("/console/logout", {}).status_code == 303
    assert session.get("/console/board").status_code == 303  # the cookie's session ended on the server


def form_csrf(person: Person) -> str:
    from tests.console.people import CSRF

    match = CSRF.search(person.get("/console/preferences").text)
    assert match
    return match.group(1)


def test_lock_out_after_repeated_failures(base: str) -> None:
    person_id = f"lock-{uuid.uuid4().hex[:6]}"
    assert accept(base, invite(base, person_id, "agent")).status_code == 303
    for _ in range(5):  # QT_CONSOLE_LOGIN_ATTEMPTS
        answer = login(base, person_id, WRONG)
        assert answer.status_code == 401 and "Wrong ID or password" in answer.text
    locked = login(base, person_id, PASSWORD)
    assert locked.status_code == 401 and "qt_console=" not in locked.headers.get("set-cookie", "")
    # An unknown id answers exactly like a wrong password (no way to tell which ids exist).
    unknown = login(base, f"ghost-{uuid.uuid4().hex[:6]}", PASSWORD)
    assert unknown.status_code == 401
    # An administrator's new invitation unlocks the account (the person sets a new password).
    assert accept(base, invite(base, person_id, "agent"), password=PASSWORD + "!").status_code == 303
    assert login(base, person_id, PASSWORD + "!").status_code == 303


def test_invitations_are_single_use_and_passwords_checked(base: str) -> None:
    person_id = f"inv-{uuid.uuid4().hex[:6]}"
    code = invite(base, person_id, "agent")
    assert accept(base, code, password="short").status_code == 422
    assert accept(base, code, password=person_id + "x" * 0 if len(person_id) >= 12 else person_id * 2
                  ).status_code in (303, 422)
    assert accept(base, code).status_code in (303, 403)
    again = accept(base, code)
    assert again.status_code == 403 and "not valid" in again.text
    assert accept(base, "made-up-code").status_code == 403


def test_hostile_form_input_is_a_4xx_naming_the_field(people: dict[str, Person], base: str) -> None:
    agent = people["agent"]
    headers = {**agent.header(), "Content-Type": "application/x-www-form-urlencoded"}

    def raw(body: bytes, path: str = "/console/preferences") -> httpx.Response:
        return httpx.post(base + path, content=body, headers=headers, timeout=30)

    csrf = f"csrf={agent.csrf}".encode()
    answer = raw(csrf + b"&language=%ED%A0%80")  # a lone surrogate, percent-encoded
    assert answer.status_code == 422 and "body: not valid UTF-8" in answer.text
    answer = raw(csrf + b"&language=%FF")
    assert answer.status_code == 422 and "UTF-8" in answer.text
    answer = raw(csrf + b"&language=z%00h")
    assert answer.status_code == 422 and "language: must not contain NUL" in answer.text
    answer = raw(csrf + b"&language=klingon")
    assert answer.status_code == 422 and "language" in answer.text and "klingon" not in answer.text
    answer = raw(csrf + b"".join(b"&f%d=1" % i for i in range(200)))
    assert answer.status_code == 422 and "fields" in answer.text
    answer = raw(csrf + b"&language=" + b"z" * 70_000)
    assert answer.status_code == 413
    answer = httpx.post(base + "/console/preferences", json={"csrf": agent.csrf}, headers=agent.header(), timeout=30)
    assert answer.status_code == 422 and "x-www-form-urlencoded" in answer.text
    # Ids in paths are checked before anything looks them up.
    assert agent.get("/console/tickets/" + "x" * 300).status_code == 422
    assert agent.get("/console/tickets/%F0%9F%92%A9bad").status_code == 422
    assert agent.get("/console/board?bucket=everything").status_code == 422
    assert agent.get("/console/board?team=" + "a" * 100).status_code == 422
    # A huge password costs what a short one does: it is cut before hashing.
    started = time.monotonic()
    csrf_login, cookies = form_page(base, "/console/login")
    answer = httpx.post(f"{base}/console/login", data={"csrf": csrf_login, "person_id": agent.person_id,
                                                      "password": "p" * 60_000},
                        headers={"Cookie": f"qt_console_csrf={cookies['qt_console_csrf']}"}, timeout=30)
    assert answer.status_code == 401 and time.monotonic() - started < 5
    # Redirects after sign-in stay on this server.
    csrf_login, cookies = form_page(base, "/console/login")
    answer = httpx.post(f"{base}/console/login", data={"csrf": csrf_login, "person_id": people["quality"].person_id,
                                                      "password": PASSWORD, "next": "//evil.example/console"},
                        headers={"Cookie": f"qt_console_csrf={cookies['qt_console_csrf']}"}, timeout=30)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"


def test_passwords_and_invitation_codes_never_reach_a_log(stack: Stack, base: str) -> None:
    code = invite(base, f"log-{uuid.uuid4().hex[:6]}", "agent")
    login(base, "nobody-at-all", WRONG)
    logs = [p for p in Path(stack.logs).rglob("*") if p.is_file()]
    assert logs
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    for secret in (PASSWORD, WRONG, code):
        assert secret not in text
    assert httpx.get(f"{base}/health/live", headers=ADMIN_KEY, timeout=10).status_code == 200


def test_an_agent_sees_only_their_own_points(stack: Stack, people: dict[str, Person]) -> None:
    """A closed month as the points workflow leaves it in the read model (its rows written here: closing
    a month for real needs a month of history); the agent's page shows their entries, never another's."""
    from datetime import UTC, datetime

    from readmodel.db import session_scope
    from readmodel.points_models import PointEntry, PointsMonth, PointsRank

    agent, other = people["agent"].person_id, f"agent-{uuid.uuid4().hex[:6]}"
    month = "2031-07"  # a month no other test closes
    with session_scope(f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}") as session:
        session.add(PointsMonth(month=month, ledger_root="0x" + "11" * 32, entry_count=2, agent_count=2,
                                rules_hash="0x" + "22" * 32, milestone_leaf="0x" + "33" * 32,
                                closed_at=datetime.now(UTC)))
        for rank, (who, points) in enumerate([(other, 9), (agent, 4)], start=1):
            session.add(PointEntry(month=month, agent=who, source_key=f"{who}:{month}", rule="first_response_met",
                                   points=points, ticket_id=f"T-{who}", event_at="2031-07-02T01:00:00.000000Z"))
            session.add(PointsRank(month=month, agent=who, total=points, rank=rank, flagged=rank == 1))
        session.commit()
    page = people["agent"].get(f"/console/points?month={month}")
    assert page.status_code == 200
    assert f"{agent}: 4 points, rank 2" in page.text and f"T-{agent}" in page.text
    assert other not in page.text  # no one else's name, total or ticket
    ranking = people["quality"].get(f"/console/points?month={month}")
    assert other in ranking.text and agent in ranking.text
    assert people["agent"].get("/console/points?month=2031-13").status_code == 422


def test_a_mystery_shopper_files_an_evaluation(base: str, people: dict[str, Person]) -> None:
    shopper = people["external_evaluator"]
    page = shopper.get("/console/evaluations/new")
    assert page.status_code == 200 and "professionalism (1–5)" in page.text
    evaluation_id = f"E-{uuid.uuid4().hex[:12]}"
    form = {"evaluation_id": evaluation_id, "target_kind": "team", "target": "after-sales",
            "visited_at": "2026-11-30T10:30", "score_professionalism": "4", "score_process_compliance": "5",
            "score_emergency_handling": "3", "notes": "Greeted within a minute"}
    filed = shopper.post("/console/evaluations/new", form)
    assert filed.status_code == 201 and f"Evaluation {evaluation_id} filed." in filed.text
    stored = httpx.get(f"{base}/evaluations/{evaluation_id}", headers={"X-API-Key": "dev-quality"}, timeout=30).json()
    assert stored["evaluator"] == f"external_evaluator:{shopper.person_id}"
    assert stored["visited_at"].startswith("2026-11-30T02:30")  # 10:30 in Shanghai (the policy's zone)
    assert stored["scores"] == {"professionalism": 4, "process_compliance": 5, "emergency_handling": 3}
    # The policy's scale, a missing criterion and a bad time are refused naming the field.
    bad = shopper.post("/console/evaluations/new", {**form, "evaluation_id": f"E-{uuid.uuid4().hex[:12]}",
                                                    "score_professionalism": "9"})
    assert bad.status_code == 422 and "scores.professionalism" in bad.text
    bad = shopper.post("/console/evaluations/new", {**form, "visited_at": "yesterday"})
    assert bad.status_code == 422 and "visited_at" in bad.text
    again = shopper.post("/console/evaluations/new", {**form, "target": "billing"})
    assert again.status_code == 409  # the same id for a different evaluation
    assert people["quality"].get("/console/evaluations/new").status_code == 403


def test_the_public_forms_refuse_hostile_input(base: str) -> None:
    """The sign-in and invitation forms take input from anyone: 4xx naming the field, never a 500."""
    for path in ("/console/login", "/console/invite"):
        csrf, cookies = form_page(base, path)
        headers = {"Cookie": f"qt_console_csrf={cookies['qt_console_csrf']}",
                   "Content-Type": "application/x-www-form-urlencoded"}

        def send(body: bytes, path: str = path, headers: dict[str, str] = headers) -> httpx.Response:
            return httpx.post(base + path, content=body, headers=headers, timeout=30)

        start = f"csrf={csrf}".encode()
        for field in (b"person_id", b"password", b"token"):
            answer = send(start + b"&" + field + b"=%ED%A0%80")  # a lone surrogate
            assert answer.status_code == 422 and "UTF-8" in answer.text, (path, field)
            answer = send(start + b"&" + field + b"=a%00b")
            assert answer.status_code == 422 and field.decode() in answer.text, (path, field)
        assert send(start + b"&person_id=" + b"x" * 70_000).status_code == 413
        assert send(start + b"".join(b"&f%d=1" % i for i in range(100))).status_code == 422
        assert send(b"person_id=ada&password=x").status_code == 403  # no CSRF field
        assert send(start + b"&lang=%F0%9F%98%80&person_id=ada&password=x&token=x").status_code in (401, 403)
        # Deeply nested or JSON bodies are not forms at all.
        answer = httpx.post(base + path, content=b"[" * 5000, timeout=30,
                            headers={**headers, "Content-Type": "application/json"})
        assert answer.status_code in (403, 422) and answer.status_code != 500
    # Query strings of the sign-in page are bounded too: an outside "next" is never used.
    page = httpx.get(f"{base}/console/login?next=https://evil.example/&lang=%ED%A0%80", timeout=30)
    assert page.status_code == 200 and "evil.example" not in page.text


def test_the_case_library_search(stack: Stack, people: dict[str, Person]) -> None:
    """A case as the analysis run adds it to the library; staff find it by Chinese keywords."""
    from readmodel.cases import add_cases
    from readmodel.db import session_scope

    ident = f"meeting:M-{uuid.uuid4().hex[:8]}"
    with session_scope(f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}") as session:
        add_cases(session, [{"id": ident, "source": "meeting", "problem": "滚筒洗衣机安装后漏水，客户两次来电",
                             "cause": "进水管接头未拧紧", "measure": "安装后增加通水检查", "outcome": "同类投诉下降",
                             "category": "after_sales", "team": "after-sales", "step": "installation",
                             "lang": "zh"}])
    agent = people["agent"]

    def found() -> None:  # a library that grew is re-indexed in the background (api/routes/cases.py)
        page = agent.get("/console/cases?q=洗衣机 漏水")
        assert page.status_code == 200 and ident in page.text and "进水管接头未拧紧" in page.text
    eventually(found, timeout=60, interval=0.5)
    assert agent.get("/console/cases").status_code == 200  # the empty form
    assert agent.get("/console/cases?q=%ED%A0%80").status_code in (200, 422)  # decoded as U+FFFD by the server
    assert agent.get("/console/cases?q=" + "x" * 600).status_code == 422
    assert agent.get("/console/cases?q=a%00b").status_code == 422
    assert people["supplier_manager"].get("/console/cases?q=x").status_code == 403
