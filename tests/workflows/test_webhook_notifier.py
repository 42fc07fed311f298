"""The real webhook notifier (activities/notify.py) against a real local HTTP receiver.

The receiver is what a department's alerting endpoint would be: it answers with the status codes a
test scripts for each alert, and treats the ``Idempotency-Key`` header as receivers do: a repeated
key is acknowledged but not acted on again. Checked: each alert carries its own stable key; a 5xx
is retried until delivered; a 4xx is given up at once (the ticket goes on); every alert is acted
on exactly once, also with workers restarted without a cache between the alerts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import Notifier
from domain.tickets import Notification, RespondInput
from tests.helpers import free_port, new_worker, serve, ticket_input
from tests.time_skipping import restartable
from tests.workflows.desk import Desk
from workflows.ticket import TicketWorkflow


@dataclass
class Receiver:
    url: str
    script: dict[str, list[int]] = field(default_factory=dict)  # idempotency key -> statuses to answer first
    attempts: list[tuple[str, int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    acted_on: list[str] = field(default_factory=list)  # keys of the alerts acted on, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts_of(self, key: str) -> list[int]:
        return [status for k, status, _, _ in self.attempts if k == key]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = FastAPI()
    state = Receiver(url="")

    @app.post("/alerts")
    async def alerts(request: Request) -> Response:
        key = request.headers.get("idempotency-key", "")
        body = json.loads(await request.body())
        with state.lock:
            scripted = state.script.get(key, [])
            status = scripted.pop(0) if scripted else 200
            state.attempts.append((key, status, body, dict(request.headers)))
            if status < 300 and key not in state.acted_on:
                state.acted_on.append(key)
        return Response(status_code=status)

    with serve(app) as url:
        state.url = f"{url}/alerts"
        yield state


def _alert(key: str = "T-1:3", kind: str = "sla_breach") -> Notification:
    return Notification(idempotency_key=key, recipient="after-sales-head", subject_id="T-1", kind=kind,
                        message="SLA breach: first_response target missed", details={"clock": "first_response"})


def test_one_delivery_carries_the_alert_and_its_idempotency_key(receiver: Receiver) -> None:
    ActivityEnvironment().run(Notifier(receiver.url).notify, _alert())
    [(key, status, body, headers)] = receiver.attempts
    assert key == "T-1:3" and status == 200
    assert headers["content-type"] == "application/json"
    assert body == {"idempotency_key": "T-1:3", "recipient": "after-sales-head", "subject_id": "T-1",
                    "kind": "sla_breach", "message": "SLA breach: first_response target missed",
                    "details": {"clock": "first_response"}}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_asks_temporal_to_retry(receiver: Receiver, status: int) -> None:
    receiver.script["T-1:3"] = [status]
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(Notifier(receiver.url).notify, _alert())
    assert not err.value.non_retryable and str(status) in str(err.value)
    ActivityEnvironment().run(Notifier(receiver.url).notify, _alert())  # the retry
    assert receiver.attempts_of("T-1:3") == [status, 200] and receiver.acted_on == ["T-1:3"]


@pytest.mark.parametrize("status", [400, 404, 409, 410, 422])
def test_a_client_error_is_given_up_without_retry(receiver: Receiver, status: int) -> None:
    receiver.script["T-1:3"] = [status]
    ActivityEnvironment().run(Notifier(receiver.url).notify, _alert())  # returns: nothing to retry
    assert receiver.attempts_of("T-1:3") == [status] and receiver.acted_on == []


def test_an_unreachable_webhook_asks_temporal_to_retry() -> None:
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(Notifier(f"http://127.0.0.1:{free_port()}/alerts", timeout_seconds=2).notify,
                                  _alert())
    assert not err.value.non_retryable and "unreachable" in str(err.value)


def test_a_redelivered_alert_is_acted_on_once(receiver: Receiver) -> None:
    notifier = Notifier(receiver.url)
    for _ in range(3):  # e.g. the activity timed out after the receiver had answered
        ActivityEnvironment().run(notifier.notify, _alert())
    assert receiver.attempts_of("T-1:3") == [200, 200, 200]
    assert receiver.acted_on == ["T-1:3"]
    assert httpx.post(receiver.url, json={}, headers={"Idempotency-Key": "T-1:3"}).status_code == 200
    assert receiver.acted_on == ["T-1:3"]


@pytest.mark.parametrize("restarts", [False, True], ids=["one worker", "a new uncached worker per alert"])
async def test_a_breaching_ticket_alerts_through_the_webhook_exactly_once(desk: Desk, receiver: Receiver,
                                                                         restarts: bool) -> None:
    ticket = ticket_input()  # P3: warnings at 75 % and 90 % of 30 minutes, then the breach
    tid = ticket.ticket_id
    # seq 0 is "opened"; 1, 2, 3 are the two warnings and the breach.
    receiver.script = {f"{tid}:1": [400], f"{tid}:2": [503], f"{tid}:3": [503, 502, 500]}
    notifier = Notifier(receiver.url, timeout_seconds=5)

    def worker(cached: int) -> Any:
        return restartable(desk.env, new_worker(desk.client, desk.acts.record_ticket, desk.acts.find_repeat_complaint,
                                                notifier.notify, task_queue=desk.task_queue,
                                                max_cached_workflows=cached))

    if restarts:
        async with worker(0):
            h = await desk.start(ticket)
            await desk.sleep(23 * 60)  # the 75 % warning
        async with worker(0):
            await desk.sleep(5 * 60)  # the 90 % warning
        async with worker(0):
            await desk.sleep(30 * 60)  # the breach, retried through three server errors
            await h.execute_update(TicketWorkflow.respond, RespondInput())
            view = await desk.state(h)
    else:
        async with worker(1000):
            h = await desk.start(ticket)
            await desk.sleep(60 * 60)
            await h.execute_update(TicketWorkflow.respond, RespondInput())
            view = await desk.state(h)

    assert [m.kind for m in view.milestones][:4] == ["opened", "sla_warning", "sla_warning", "sla_breach"]
    assert {k for k, _, _, _ in receiver.attempts} == {f"{tid}:1", f"{tid}:2", f"{tid}:3"}
    assert receiver.attempts_of(f"{tid}:1") == [400]  # refused: given up, not retried
    assert receiver.attempts_of(f"{tid}:2") == [503, 200]  # retried once
    assert receiver.attempts_of(f"{tid}:3") == [503, 502, 500, 200]  # retried until delivered
    # Acted on exactly once each, in the order they happened; the refused warning never.
    assert receiver.acted_on == [f"{tid}:2", f"{tid}:3"]
    breach = next(body for k, _, body, _ in receiver.attempts if k == f"{tid}:3")
    assert breach["kind"] == "sla_breach" and breach["details"]["clock"] == "first_response"
    assert "customer_ref_hash" not in json.dumps([body for _, _, body, _ in receiver.attempts])
