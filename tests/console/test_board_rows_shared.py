"""The board's live part is rendered once per view, language and time zone, and shared by every
client polling it within the refresh interval: no client sees another's language or time zone."""

from __future__ import annotations

import re

from cli.stack import Stack
from tests.console.people import new_person

UPDATED = re.compile(r'<p class="updated" role="status">(.*?)</p>')


def test_clients_share_the_rows_only_in_their_own_language_and_zone(stack: Stack) -> None:
    base = stack.config.api_url
    en, zh, new_york = (new_person(base, "supervisor", language=lang) for lang in ("en", "zh", "en"))
    moved = new_york.post("/console/preferences", {"language": "en", "time_zone": "America/New_York"})
    assert moved.status_code == 303
    for _ in range(5):
        first = en.get("/console/board/rows?bucket=open")
        chinese = zh.get("/console/board/rows?bucket=open")
        elsewhere = new_york.get("/console/board/rows?bucket=open")
        again = en.get("/console/board/rows?bucket=open")
        assert {a.status_code for a in (first, chinese, elsewhere, again)} == {200}
        assert "By team" in first.text and "按团队" not in first.text
        assert "按团队" in chinese.text and "By team" not in chinese.text
        if first.text == again.text:  # one refresh interval: the same view, shared
            break
    else:
        raise AssertionError("five pairs of polls each straddled a refresh interval")
    shown = UPDATED.search(first.text), UPDATED.search(elsewhere.text)
    assert shown[0] and shown[1]
    # The same instant, shown in Asia/Shanghai (the policy's zone) and in New York: 13 hours apart.
    assert shown[0].group(1) != shown[1].group(1)
