"""A ticket's alerts reach the department head's mailbox (a real SMTP server) exactly once, while the
worker is stopped and started again between them and every task replays the whole history."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.notify import Notifier, SmtpConfig
from domain.tickets import RespondInput
from readmodel import alerts
from readmodel.alert_models import Person
from readmodel.db import session_scope
from tests.alerts.mailbox import Mailbox, mailbox
from tests.helpers import ticket_input
from tests.workflows.desk import Desk, H
from workflows.ticket import TicketWorkflow


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with mailbox() as b:
        yield b


@pytest.fixture
async def desk(time_env: WorkflowEnvironment, tmp_path: Path, box: Mailbox) -> AsyncIterator[Desk]:
    d = Desk(time_env, tmp_path)
    with session_scope(d.db_url) as session:
        alerts.put_person(session=session, person=Person(
            id="after-sales-head", display_name="Wang Fang", email="wang.fang@after-sales.example",
            team="after-sales", role="team_head", updated_at=datetime.now(UTC)))
    d.notifier = Notifier(db_url=d.db_url, smtp=SmtpConfig(host="127.0.0.1", port=box.port))  # type: ignore[assignment]
    yield d
    await d.close()


async def test_each_alert_mailed_once_across_worker_restarts(desk: Desk, box: Mailbox) -> None:
    ticket = ticket_input()
    async with desk.worker(max_cached_workflows=0):
        h = await desk.start(ticket)
        await desk.sleep(20 * 60)  # past the 75 % warning of the 30 min first response
    box.answers = ["421 4.3.2 shutting down"]  # the server is busy once: that alert is retried
    async with desk.worker(max_cached_workflows=0):
        await desk.sleep(8 * 60)  # past the 90 % warning
    async with desk.worker(max_cached_workflows=0):
        await desk.sleep(5 * 60)  # past the breach
        await h.execute_update(TicketWorkflow.respond, RespondInput())
    async with desk.worker(max_cached_workflows=0):
        await desk.sleep(50 * H)  # the resolution clock warns and breaches too
        view = await desk.state(h)

    by_seq = {m.seq: m.kind for m in view.milestones}
    alerted = [int(k.split(":")[1]) for k in box.alert_keys()]
    assert [by_seq[s] for s in alerted] == ["sla_warning", "sla_warning", "sla_breach",
                                            "sla_warning", "sla_warning", "sla_breach"]
    assert len(set(box.alert_keys())) == len(box.alert_keys()) == 6
    assert {m["X-Envelope-To"] for m in box.received} == {"wang.fang@after-sales.example"}
    assert box.answers == []  # the refused attempt did happen, and its alert still arrived once
    with session_scope(desk.db_url) as session:
        rows, total = alerts.inbox(session=session, recipient="after-sales-head", limit=50)
        assert total == 6 and sorted(r.idempotency_key for r in rows) == sorted(box.alert_keys())
