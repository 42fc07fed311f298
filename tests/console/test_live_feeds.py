"""The board's feeds (console/live.py) on their own: one rendering per update for every follower, a
slow follower gets the newest update rather than a backlog, feeds stop when nobody follows, and the
bounds refuse before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from console.live import RECONNECT, UNCHANGED, BoardFeeds, FeedsFull, event

LIMITS: dict[str, Any] = {"interval": 0.05, "lifetime": 30.0, "max_feeds": 3, "max_per_person": 2}


class Rows:
    """A view's rows that change when told to, counting its renderings."""

    def __init__(self) -> None:
        self.version = 0
        self.made = 0

    def __call__(self) -> str:
        self.made += 1
        return self.text()

    def text(self) -> str:
        return f"<p>rows {self.version}</p>\n<p>second line</p>"


async def next_update(stream: AsyncGenerator[bytes, None]) -> bytes:
    while (got := await anext(stream)) == UNCHANGED:
        pass
    return got


def test_an_event_is_each_line_as_data() -> None:
    assert event("a\nb\r\nc") == b"data: a\ndata: b\ndata: c\n\n"


async def test_followers_of_a_view_share_each_update_and_a_slow_one_gets_the_newest() -> None:
    feeds, rows = BoardFeeds(), Rows()
    fast = feeds.follow(("near",), "ann", rows, **LIMITS)
    slow = feeds.follow(("near",), "bob", rows, **LIMITS)
    assert await anext(fast) == RECONNECT and await anext(slow) == RECONNECT
    shared = await anext(fast), await anext(slow)
    assert shared[0] == event(rows.text())
    assert shared[0] is shared[1]  # one rendering, encoded once, handed to both
    for version in (1, 2, 3):  # bob does not read while three updates are made
        rows.version = version
        assert await next_update(fast) == event(rows.text())
    # Bob's queue held one update at a time: he gets the newest, never the ones in between.
    assert await next_update(slow) == event(rows.text())
    # Nothing changed since: what follows is the comment that keeps the connection open.
    assert await anext(fast) == UNCHANGED
    assert feeds.counts() == (1, 2)
    await fast.aclose()
    await slow.aclose()
    assert feeds.counts() == (0, 0)
    made = rows.made
    await asyncio.sleep(0.2)
    assert rows.made == made  # the feed stopped with its last follower


async def test_a_new_follower_gets_the_current_rows_at_once() -> None:
    feeds, rows = BoardFeeds(), Rows()
    first = feeds.follow(("open",), "ann", rows, **{**LIMITS, "interval": 60.0})
    await anext(first)
    current = await anext(first)
    late = feeds.follow(("open",), "bob", rows, **{**LIMITS, "interval": 60.0})
    assert await anext(late) == RECONNECT
    assert await asyncio.wait_for(anext(late), 1) == current  # not a minute later, at the next update
    await first.aclose()
    await late.aclose()


async def test_bounds_refuse_before_anything_is_sent() -> None:
    feeds, rows = BoardFeeds(), Rows()
    streams: list[AsyncGenerator[bytes, None]] = []
    for person, view in (("ann", "a"), ("ann", "b"), ("bob", "c")):
        streams.append(feeds.follow((view,), person, rows, **LIMITS))
        await anext(streams[-1])
    with pytest.raises(FeedsFull, match="at most 2 live boards per person"):
        feeds.follow(("a",), "ann", rows, **LIMITS)
    with pytest.raises(FeedsFull, match="at most 3 differently filtered"):
        feeds.follow(("d",), "cat", rows, **LIMITS)
    extra = feeds.follow(("a",), "cat", rows, **LIMITS)  # a view already followed is no new feed
    assert await anext(extra) == RECONNECT
    for stream in [*streams, extra]:
        await stream.aclose()
    assert feeds.counts() == (0, 0)


async def test_a_stream_ends_after_its_lifetime() -> None:
    feeds, rows = BoardFeeds(), Rows()
    got = [chunk async for chunk in feeds.follow(("a",), "ann", rows, **{**LIMITS, "lifetime": 0.3})]
    assert got[0] == RECONNECT and event(rows()) in got
    assert feeds.counts() == (0, 0)


async def test_a_failed_update_keeps_the_last_rows() -> None:
    feeds = BoardFeeds()
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("database gone")
        return "<p>rows</p>"

    stream = feeds.follow(("a",), "ann", flaky, **LIMITS)
    assert await anext(stream) == RECONNECT
    assert await anext(stream) == event("<p>rows</p>")
    assert await anext(stream) == UNCHANGED  # the failure is logged; the board keeps what it shows
    await stream.aclose()
