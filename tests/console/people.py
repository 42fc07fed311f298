"""Console accounts for the tests, made the way an administrator makes them: an invitation by the
admin API key, the invitee's own password through the invitation page, then the sign-in form.

The session cookie is ``Secure``; httpx's cookie jar keeps such cookies off plain-HTTP requests, so
these helpers carry cookies in the ``Cookie`` header themselves.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import httpx

ADMIN_KEY = {"X-API-Key": "dev-admin"}
PASSWORD = "a long test passphrase 42"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def cookies_of(response: httpx.Response) -> dict[str, str]:
    out: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


@dataclass
class Person:
    """A signed-in browser, seen through httpx."""

    base: str
    person_id: str
    role: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(self.base + path, headers=self.header(), follow_redirects=False, timeout=30, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        form = {"csrf": self.csrf, **data} if csrf else data
        return httpx.post(self.base + path, data=form, headers=self.header(), follow_redirects=False, timeout=60)


def invite(base: str, person_id: str, role: str, suppliers: str = "") -> str:
    """The invitation code (from the link's fragment)."""
    body = {"person_id": person_id, "display_name": person_id.title(), "email": f"{person_id}@example.cn",
            "team": "after-sales", "role": role, "suppliers": suppliers}
    answer = httpx.post(f"{base}/console/api/invitations", json=body, headers=ADMIN_KEY, timeout=30)
    assert answer.status_code == 201, answer.text
    url = answer.json()["invite_url"]
    assert url.startswith(f"{base}/console/invite#")
    return str(url.split("#", 1)[1])


def form_page(base: str, path: str) -> tuple[str, dict[str, str]]:
    """A sign-in or invitation page's CSRF field and the cookie that pairs with it."""
    page = httpx.get(base + path, timeout=30)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, page.text
    return match.group(1), cookies_of(page)


def accept(base: str, code: str, password: str = PASSWORD, language: str = "en") -> httpx.Response:
    csrf, cookies = form_page(base, "/console/invite")
    return httpx.post(f"{base}/console/invite", data={"csrf": csrf, "token": code, "password": password,
                                                     "repeat": password, "lang": language},
                      headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}, timeout=30)


def login(base: str, person_id: str, password: str = PASSWORD) -> httpx.Response:
    csrf, cookies = form_page(base, "/console/login")
    return httpx.post(f"{base}/console/login", data={"csrf": csrf, "person_id": person_id, "password": password,
                                                    "next": "/console", "lang": "en"},
                      headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}, timeout=30)


def new_person(base: str, role: str, suppliers: str = "", *, language: str = "en") -> Person:
    """Invited, password set, signed in: a person with ``role``."""
    person_id = f"{role.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    assert accept(base, invite(base, person_id, role, suppliers), language=language).status_code == 303
    answer = login(base, person_id)
    assert answer.status_code == 303, answer.text
    person = Person(base, person_id, role, {"qt_console": cookies_of(answer)["qt_console"]})
    page = person.get("/console/preferences")
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match
    person.csrf = match.group(1)
    return person


def ticket_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"ticket_id": f"CON-{uuid.uuid4().hex[:10]}", "customer_ref": "cust-console",
                               "channel": "web", "category": "after_sales", "priority": "P3",
                               "team": "after-sales", "summary": "Dryer stops mid-cycle",
                               "description": "Stops after ten minutes"}
    body.update(overrides)
    return body
