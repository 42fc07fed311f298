"""The meeting page shows how the solution was measured: the rates and, for a meeting from a proposal,
the problem's share of failures before and after (rendered from a meeting's state, no server)."""

from __future__ import annotations

import re

import pytest
from starlette.requests import Request

from console.auth import ConsoleUser
from console.render import render
from domain.governance import EffectResult, MeetingView


def _page(effect: EffectResult, language: str, reasons: list[str]) -> str:
    request = Request({"type": "http", "method": "GET", "path": "/console/meetings/M-p1", "headers": [],
                       "query_string": b"", "scheme": "https", "server": ("console", 443)})
    user = ConsoleUser(person_id="q-1", role="quality", suppliers=None, language=language,
                       time_zone="Asia/Shanghai", csrf="c", token_hash="h")
    view = MeetingView(meeting_id="M-p1", status="verified", title="Parcels lost", category="complaint",
                       departments=["logistics"], submitted=["logistics"], linked_tickets=[],
                       opened_at="2026-10-01T00:00:00.000000Z", due_at="2026-10-04T00:00:00.000000Z",
                       verify_at=None, effect=effect, reopen_reasons=reasons)
    answer = render(request, "meeting.html", language=language, time_zone="Asia/Shanghai", user=user, view=view,
                    now=None, problem="", hours="72", can_submit=False)
    return re.sub(r"\s+", " ", answer.body.decode())


@pytest.mark.parametrize(("language", "share_label", "reason_label"), [
    ("en", "share of failures (its tickets / all failures)", "The meeting was reopened because"),
    ("zh", "该问题的失败占比", "会议曾因以下原因重开")])
def test_the_share_before_and_after_is_on_the_page(language: str, share_label: str, reason_label: str) -> None:
    effect = EffectResult(before_tickets=40, after_tickets=30, before_repeat_rate=0.125, after_repeat_rate=0.05,
                          before_reopen_rate=0.1, after_reopen_rate=0.0, problem_key="p1", before_share=45.45,
                          after_share=10.0, before_problem_tickets=5, after_problem_tickets=1, before_failures=11,
                          after_failures=10)
    page = _page(effect, language, ["share of failures 20.00% -> 50.00% (2 -> 3 tickets)"])
    assert share_label in page and reason_label in page
    assert "<td>45.5 % (5 / 11)</td><td>10.0 % (1 / 10)</td>" in page
    assert "<td>12.5 %</td><td>5.0 %</td>" in page and "<td>40</td><td>30</td>" in page
    assert "share of failures 20.00% -&gt; 50.00% (2 -&gt; 3 tickets)" in page


def test_a_meeting_opened_by_hand_shows_the_rates_only() -> None:
    effect = EffectResult(before_tickets=8, after_tickets=9, before_repeat_rate=0.25, after_repeat_rate=0.0,
                          before_reopen_rate=0.0, after_reopen_rate=0.0)
    page = _page(effect, "en", [])
    assert "Verification of the solution" in page and "<td>25.0 %</td><td>0.0 %</td>" in page
    assert "share of failures" not in page and "reopened because" not in page
