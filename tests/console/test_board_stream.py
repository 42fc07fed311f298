"""The SLA board's live update is pushed (server-sent events): one rendering per view, the same
bytes to every open board of it, refused without a session or the role, bounded per person, and
ended by the server after its lifetime (the browser opens a new one, which checks the session).

Over real HTTP against the session's stack, read the way a browser's EventSource reads it."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from cli.stack import Stack
from tests.console.people import Person, new_person, ticket_body

OPEN = re.compile(r'<h2 id="tickets-h">[^<(]*\((\d+)\)</h2>')
STREAM = "/console/board/stream?bucket=open"
AGENT = {"X-API-Key": "dev-agent"}


def events(answer: httpx.Response) -> Iterator[str]:
    """Each event's data, as EventSource hands it to the page (data lines joined by newlines)."""
    data: list[str] = []
    for line in answer.iter_lines():
        if line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            yield "\n".join(data)
            data = []


@contextmanager
def follow(person: Person, path: str = STREAM) -> Iterator[httpx.Response]:
    """An open board's stream, as EventSource opens it."""
    with httpx.Client(base_url=person.base, timeout=30) as client, client.stream(
            "GET", path, headers={**person.header(), "Accept": "text/event-stream"}) as answer:
        yield answer


def count(update: str) -> int:
    shown = OPEN.search(update)
    assert shown, update[:500]
    return int(shown.group(1))


def test_every_open_board_of_a_view_gets_the_same_update_pushed(stack: Stack) -> None:
    base = stack.config.api_url
    first, second = new_person(base, "supervisor"), new_person(base, "team_head")
    chinese = new_person(base, "quality", language="zh")
    team = f"live-{uuid.uuid4().hex[:8]}"  # a team of its own: its board shows only this test's ticket
    with ExitStack() as open_boards:
        streams = [open_boards.enter_context(follow(p, f"{STREAM}&team={team}")) for p in (first, second, chinese)]
        for answer in streams:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert "no-store" in answer.headers["cache-control"]
        feeds = [events(a) for a in streams]
        # Updates come every second here, each stamped with its time: two people of one view and
        # language are handed the very same updates (one rendering), so they share one of their first two.
        seen = [[next(f), next(f)] for f in feeds]
        assert set(seen[0]) & set(seen[1])
        assert "By team" in seen[0][0] and "按团队" in seen[2][0] and "By team" not in seen[2][0]
        assert count(seen[0][1]) == 0
        created = httpx.post(f"{base}/tickets", json=ticket_body(team=team), headers=AGENT, timeout=60)
        assert created.status_code == 201, created.text
        ticket = created.json()["ticket"]["ticket_id"]
        # Pushed within a refresh interval or two (1 s in these tests), without asking.
        began = time.monotonic()
        update = next(u for u in feeds[0] if count(u) > 0)
        assert time.monotonic() - began < 15
        assert count(update) == 1 and f'data-ticket="{ticket}"' in update


def test_a_stream_needs_a_session_and_a_board_role(stack: Stack) -> None:
    base = stack.config.api_url
    anonymous = httpx.get(base + STREAM, headers={"Accept": "text/event-stream"}, timeout=30)
    assert anonymous.status_code == 401 and "<table" not in anonymous.text
    forged = httpx.get(base + STREAM, headers={"Accept": "text/event-stream", "Cookie": "qt_console=" + "A" * 43},
                       timeout=30)
    assert forged.status_code == 401
    supplier = new_person(base, "supplier_manager", "*")
    refused = supplier.get(STREAM)
    assert refused.status_code == 403 and "may not open this page" in refused.text
    lead = new_person(base, "supervisor")
    for bad in ("bucket=everything", "team=%3Cscript%3E", "priority=P9", "team=" + "a" * 65, "bucket=%ED%A0%80"):
        answer = lead.get(f"/console/board/stream?{bad}")
        assert 400 <= answer.status_code < 500, (bad, answer.status_code)
        assert bad.split("=")[0] in answer.text, (bad, answer.text[:300])
    # Signed out: the browser's next stream (after this one ends) is refused, so the board stops.
    with follow(lead) as answer:
        assert answer.status_code == 200
        assert lead.post("/console/logout", {}).status_code == 303
        assert lead.get(STREAM).status_code in (303, 401)


def test_a_person_has_a_bounded_number_of_open_boards(stack: Stack) -> None:
    lead = new_person(stack.config.api_url, "supervisor")
    with ExitStack() as open_boards:
        streams = [open_boards.enter_context(follow(lead, f"{STREAM}&priority=P{1 + i % 4}")) for i in range(6)]
        assert {s.status_code for s in streams} == {200}
        # Each read once: the server has them all open. (Readers kept: a dropped one closes its stream.)
        feeds = [events(answer) for answer in streams]
        assert all(next(f) for f in feeds)
        refused = lead.get(STREAM)
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert "at most 6 live boards" in refused.text
        # Someone else is not refused for this person's boards.
        other = events(open_boards.enter_context(follow(new_person(lead.base, "supervisor"))))
        assert "By team" in next(other)
    # Their boards closed, the person opens one again (the server notices the closed ones at once
    # or at its next update).
    deadline = time.monotonic() + 10
    while True:
        with follow(lead) as answer:
            if answer.status_code == 200:
                break
        assert time.monotonic() < deadline, "the closed boards still count"
        time.sleep(0.2)


def test_the_server_ends_a_stream_after_its_lifetime(stack: Stack) -> None:
    # QT_CONSOLE_BOARD_STREAM_SECONDS is 5 in these tests (tests/console/conftest.py).
    lead = new_person(stack.config.api_url, "supervisor")
    began = time.monotonic()
    with follow(lead) as answer:
        assert answer.status_code == 200
        text = "".join(answer.iter_text())  # returns when the server ends the answer
    assert 4 <= time.monotonic() - began < 20
    assert text.startswith("retry: ") and "data: " in text
