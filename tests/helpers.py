"""Shared test helpers (in the style of sdk-python's tests/helpers)."""

from __future__ import annotations

import base64
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from domain.business_calendar import CalendarSpec
from domain.policy import load_policy
from domain.tickets import Notification, Targets, TicketInput, TicketPolicy
from settings import DEV_API_KEYS, ROOT, Settings, get_settings
from worker import SANDBOX, WORKFLOWS

POLICY = load_policy(ROOT / "config" / "policy.toml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_worker(client: Client, *activities: Callable[..., Any], task_queue: str | None = None,
               max_cached_workflows: int = 1000, workflows: Sequence[type] = WORKFLOWS) -> Worker:
    import concurrent.futures

    return Worker(client, task_queue=task_queue or str(uuid.uuid4()), workflows=list(workflows),
                  activities=list(activities), workflow_runner=SANDBOX,
                  activity_executor=concurrent.futures.ThreadPoolExecutor(8),
                  max_cached_workflows=max_cached_workflows)


def eventually(check: Callable[[], None], *, timeout: float = 10.0, interval: float = 0.1) -> None:
    """Retries a synchronous assertion until it passes (the read model is updated asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


# The shared stack (tests/conftest.py) seals service texts with this key, so a test can tell what a
# sealed row holds, and knows an extra reviewer key bound to no person.
STACK_RECORD_KEY = "r1:" + base64.b64encode(b"\x07" * 32).decode()
STACK_ENV = {"QT_API_KEYS": DEV_API_KEYS + ",test-reviewer:reviewer", "QT_RECORD_KEYS": STACK_RECORD_KEY}


def altered(token: str) -> str:
    """``token`` with its last character changed (to another one: a fixed replacement would leave
    a token that already ends in it unchanged, one time in sixteen for hex)."""
    return token[:-1] + ("1" if token[-1] == "0" else "0")


# Debian's chromium (make test installs it), driven by Playwright for every page a person reads.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

@contextmanager
def serve(app: Any, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serves an ASGI app with a real uvicorn server on a free loopback port; yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serve_api_with(settings: Settings) -> Iterator[str]:
    """The API app in process (no lifespan, so no Temporal) with ``settings`` in place of the environment's."""
    from api.main import create_app

    try:
        app = create_app()
    finally:
        get_settings.cache_clear()  # later tests build settings from their own environment
    app.dependency_overrides[get_settings] = lambda: settings
    with serve(app) as url:
        yield url


class RecordingNotifier:
    """Stands in for the webhook (outside our system): records what would be pushed."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    @activity.defn(name="notify")
    def notify(self, alert: Notification) -> None:
        self.sent.append(alert)

    def kinds(self) -> list[str]:
        return [f"{a.kind}:{a.details.get('clock', '')}:{a.details.get('level', '')}" for a in self.sent]


def ticket_policy(*, calendar: CalendarSpec | None = None, **overrides: Any) -> TicketPolicy:
    policy = POLICY.ticket_policy(category="after_sales", team="after-sales", year=2026)
    if calendar is not None:
        policy.calendar = calendar
    for key, value in overrides.items():
        setattr(policy, key, value)
    return policy


def ticket_input(ticket_id: str | None = None, *, priority: str = "P3", policy: TicketPolicy | None = None,
                 customer: str = "0xcustomer", category: str = "after_sales", compensate: bool = False,
                 supplier: str | None = None) -> TicketInput:
    return TicketInput(
        ticket_id=ticket_id or f"T-{uuid.uuid4().hex[:12]}", customer_ref_hash=customer, channel="app",
        category=category, priority=priority, team="after-sales", summary="Washing machine leaks",
        description="Leaks after two days", policy=policy or ticket_policy(), supplier=supplier,
        compensate=compensate)


def targets(first_response_minutes: float, resolution_hours: float) -> dict[str, Targets]:
    t = Targets(first_response_minutes * 60, resolution_hours * 3600)
    return {p: t for p in ("P1", "P2", "P3", "P4")}


def tmp_db_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'readmodel.db'}"
