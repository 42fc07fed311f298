"""The board's live update, pushed (server-sent events) instead of polled.

Every open board of one view (filters, language, time zone) follows one feed: once per refresh
interval the feed computes the view and renders its rows once, encodes them once as an event, and
hands the same bytes to each of its followers. A follower costs the server one queue hand-off and
one write per update, not a request (routing, dependencies, session lookup: 9 ms a poll, see
docs/benchmarks.md). A feed runs only while someone follows it.

A stream ends after a bounded time (and never outlives the session it was opened with): the
browser's EventSource opens a new one by itself, so the session and role are checked again and a
signed-out person stops receiving the board.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

# Sent first: how long the browser waits before opening a new stream when one ends (milliseconds).
RECONNECT = b"retry: 1000\n\n"
# Sent instead of an unchanged update: a comment keeps idle connections (and proxies) open.
UNCHANGED = b": unchanged\n\n"


class FeedsFull(Exception):
    """Too many feeds or streams at once: the caller answers 503 (a bad client loads only itself)."""


def event(text: str) -> bytes:
    """``text`` as one server-sent event (each line a ``data:`` line; EventSource joins them with newlines)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(f"data: {line}\n" for line in lines).encode() + b"\n"


@dataclass(eq=False)
class _Feed:
    """One view's feed: the latest update and the queues of the streams following it."""

    make: Callable[[], str]
    followers: set[asyncio.Queue[bytes]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    last: bytes = b""


class BoardFeeds:
    """The feeds of one API process, by view. ``make`` renders a view's rows (blocking: database
    and template), run in a worker thread once per interval for each followed view."""

    def __init__(self) -> None:
        self._feeds: dict[tuple[str, ...], _Feed] = {}
        self._streams: dict[str, int] = {}

    def follow(self, key: tuple[str, ...], person: str, make: Callable[[], str], *, interval: float,
               lifetime: float, max_feeds: int, max_per_person: int) -> AsyncGenerator[bytes, None]:
        """A stream of ``key``'s updates for ``person``, ending after ``lifetime`` seconds.

        Raises ``FeedsFull`` before anything is sent when the person already has ``max_per_person``
        streams open, or the view would be a feed more than ``max_feeds``."""
        if self._streams.get(person, 0) >= max_per_person:
            raise FeedsFull(f"at most {max_per_person} live boards per person at once")
        if key not in self._feeds and len(self._feeds) >= max_feeds:
            raise FeedsFull(f"at most {max_feeds} differently filtered live boards at once")
        return self._stream(key, person, make, interval, lifetime)

    async def _stream(self, key: tuple[str, ...], person: str, make: Callable[[], str], interval: float,
                      lifetime: float) -> AsyncGenerator[bytes, None]:
        # Joins the feed here, not in ``follow``: a stream never iterated (its client gone before
        # the answer began) then never counts, as its ``finally`` would never run.
        loop = asyncio.get_running_loop()
        ends = loop.time() + lifetime
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        feed = self._feeds.setdefault(key, _Feed(make))
        # The newest follower's way of making the rows (its policy and settings as they are now):
        # a feed outlives its first follower while others keep reconnecting to it.
        feed.make = make
        feed.followers.add(queue)
        self._streams[person] = self._streams.get(person, 0) + 1
        if feed.last:
            queue.put_nowait(feed.last)  # a reconnecting board gets the current rows at once
        if feed.task is None:
            feed.task = asyncio.create_task(self._publish(feed, interval))
        try:
            yield RECONNECT
            while (left := ends - loop.time()) > 0:
                try:
                    yield await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    return
        finally:
            feed.followers.discard(queue)
            self._streams[person] -= 1
            if not self._streams[person]:
                del self._streams[person]
            if not feed.followers and feed.task is not None:
                feed.task.cancel()
                if self._feeds.get(key) is feed:
                    del self._feeds[key]

    async def _publish(self, feed: _Feed, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while feed.followers:
            began = loop.time()
            try:
                update = event(await run_in_threadpool(feed.make))
            except Exception:
                log.exception("live board: the update failed; its followers keep the last one")
                update = feed.last
            frame, feed.last = (UNCHANGED if update == feed.last else update), update
            for queue in feed.followers:
                if queue.full():
                    if frame is UNCHANGED:
                        continue  # what it has not taken yet is still the latest
                    queue.get_nowait()  # not taken yet: this update replaces it rather than queueing
                queue.put_nowait(frame)
            await asyncio.sleep(max(interval - (loop.time() - began), 0.0))

    def counts(self) -> tuple[int, int]:
        """Feeds running and streams following them (for tests and the bench)."""
        return len(self._feeds), sum(self._streams.values())
