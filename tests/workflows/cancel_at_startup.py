"""A fresh worker process whose first activities are cancelled: run as ``python -m tests.workflows.cancel_at_startup``.

Temporal cancels a running synchronous activity by raising ``CancelledError`` inside its thread
(``Runtime._raise_in_thread``, the SDK's own mechanism, used here too). The first read-model query
of a process used to configure SQLAlchemy's mappers; a cancellation landing there marked a mapper
as failed, and every later ``record_ticket`` of the process failed. Worker start-up (``init_db``)
must leave nothing for an activity to configure.

Modes:
- ``in-configuration``: the cancellation is raised exactly when the first activity enters a mapper's
  configuration, if it ever does (deterministic).
- ``random:<seed>:<count>``: ``count`` activities, each cancelled after a random delay.

Then a clean ``record_ticket`` and ``find_repeat_complaint`` must succeed. Prints one JSON line.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import temporalio.bridge.runtime
from temporalio.exceptions import CancelledError

from activities.tickets import TicketActivities
from domain.tickets import ClockView, MilestoneView, RecordTicketInput, RepeatQuery, TicketView
from readmodel.db import init_db

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(ticket_id: str) -> RecordTicketInput:
    opened = MilestoneView(seq=0, kind="opened", at=NOW, data={"channel": "app"}, prev="0x" + "00" * 32,
                           leaf="0x" + uuid.uuid5(uuid.NAMESPACE_URL, ticket_id).hex * 2)
    view = TicketView(ticket_id=ticket_id, status="open", priority="P3", category="after_sales", team="after-sales",
                      channel="app", supplier=None, assignee=None, created_at=NOW,
                      clocks=[ClockView(name="first_response", target_seconds=1800, elapsed_seconds=0,
                                        remaining_seconds=1800, paused_seconds=0, deadline=NOW, outcome="pending",
                                        running=True)],
                      milestones=[opened], breaches=[], repeat_of=None, rating=None, resolution_code=None,
                      root_cause=None, request_hash="", token_version=1)
    return RecordTicketInput(ticket_id=ticket_id, snapshot=view, customer_ref_hash="0xcustomer",
                             summary="Washing machine leaks", description="Leaks", milestones=[opened])


def _run_in_thread(fn: Callable[[], Any], *, trace: Any = None, cancel_after: float | None = None) -> str:
    """Run ``fn`` in its own thread as the SDK runs a sync activity; cancel it as asked. Returns the outcome."""
    outcome: list[str] = []
    started = threading.Event()

    def body() -> None:
        if trace is not None:
            sys.settrace(trace)
        started.set()
        try:
            fn()
            outcome.append("completed")
        except CancelledError:
            outcome.append("cancelled")
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outcome.append(f"failed: {type(exc).__name__}: {exc}")
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=body)
    thread.start()
    started.wait()
    if cancel_after is not None:
        time.sleep(cancel_after)
        if thread.is_alive() and thread.ident is not None:
            temporalio.bridge.runtime.Runtime._raise_in_thread(thread.ident, CancelledError)
    thread.join(30)
    # An exception raised after fn returned but before the outcome was appended is still a cancellation.
    return outcome[0] if outcome else "cancelled"


def main(db_url: str, mode: str) -> None:
    init_db(db_url)  # the worker's start-up step (worker.run_worker)
    acts = TicketActivities(db_url)
    outcomes: list[str] = []
    if mode == "in-configuration":
        def trace(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "call" and frame.f_code.co_name == "_post_configure_properties":
                raise CancelledError("cancelled while configuring mappers")
            return None

        outcomes.append(_run_in_thread(lambda: acts.record_ticket(record("T-cancel-0")), trace=trace))
    else:
        _, seed, count = mode.split(":")
        rng = random.Random(int(seed))
        for i in range(int(count)):
            outcomes.append(_run_in_thread(lambda i=i: acts.record_ticket(record(f"T-cancel-{i}")),
                                           cancel_after=rng.uniform(0, 0.006)))  # short: most land mid-work
    # After the cancellations, the process must still do its work.
    after = _run_in_thread(lambda: acts.record_ticket(record("T-after")))
    repeat = _run_in_thread(lambda: acts.find_repeat_complaint(RepeatQuery(
        ticket_id="T-after-2", customer_ref_hash="0xcustomer", category="after_sales", opened_at=NOW,
        window_seconds=3600)))
    print(json.dumps({"outcomes": outcomes, "after": after, "repeat": repeat}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
