"""Activity heartbeats for work that blocks (chain sends, receipt waits, polling loops)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio import activity

__all__ = ["heartbeat", "heartbeating"]


def heartbeat(*details: Any) -> None:
    """Heartbeat when running as an activity (a no-op when called directly, e.g. by the bench)."""
    if activity.in_activity():
        activity.heartbeat(*details)


@contextmanager
def heartbeating(interval: float = 2.0) -> Iterator[None]:
    """Heartbeat from a helper thread while the block runs (a no-op outside an activity).

    Sends and receipt waits block in web3 for as long as the chain takes, so the activity thread
    cannot heartbeat itself. With heartbeats flowing, the workflow can use a short heartbeat
    timeout and a worker killed mid-transaction is noticed in seconds, not at the end of a long
    start-to-close timeout.

    Args:
        interval: Seconds between heartbeats.
    """
    if not activity.in_activity():
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            activity.heartbeat()

    # The copied context carries the activity's context into the helper thread.
    helper = threading.Thread(target=contextvars.copy_context().run, args=(beat,), daemon=True,
                              name="qualitrail-heartbeat")
    helper.start()
    try:
        yield
    finally:
        stop.set()
        helper.join(timeout=interval + 1)
