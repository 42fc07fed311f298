"""A worker plus handles to drive TicketWorkflows on the time-skipping server."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.tickets import TicketActivities
from domain.tickets import ClockView, TicketInput, TicketView
from readmodel.db import init_db
from tests.helpers import RecordingNotifier, new_worker, tmp_db_url
from tests.time_skipping import restartable, skip
from workflows.ticket import TicketWorkflow

H = 3600.0


class Desk:
    """A worker plus handles to drive tickets, bound to one temp read model."""

    def __init__(self, env: WorkflowEnvironment, tmp: Path) -> None:
        self.env = env
        self.client: Client = env.client
        self.db_url = tmp_db_url(tmp)
        init_db(self.db_url)
        self.notifier = RecordingNotifier()
        self.task_queue = str(uuid.uuid4())
        self.acts = TicketActivities(self.db_url)
        self.handles: list[WorkflowHandle[TicketWorkflow, TicketView]] = []

    def worker(self, max_cached_workflows: int = 1000) -> AbstractAsyncContextManager[Worker]:
        return restartable(self.env, new_worker(self.client, self.acts.record_ticket, self.acts.find_repeat_complaint,
                                                self.notifier.notify, task_queue=self.task_queue,
                                                max_cached_workflows=max_cached_workflows))

    async def start(self, ticket: TicketInput) -> WorkflowHandle[TicketWorkflow, TicketView]:
        handle = await self.client.start_workflow(TicketWorkflow.run, ticket, id=ticket.ticket_id,
                                                  task_queue=self.task_queue)
        self.handles.append(handle)
        # The time-skipping test server can drop an Update that races the first workflow task;
        # a query waits for that task. (The real server has no such race; see the API tests.)
        await handle.query(TicketWorkflow.state)
        return handle

    async def close(self) -> None:
        # A workflow left without a worker would hold the test server's time skipping.
        for handle in self.handles:
            desc = await handle.describe()
            if desc.status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")

    async def state(self, handle: WorkflowHandle[TicketWorkflow, TicketView]) -> TicketView:
        now = await self.env.get_current_time()
        return await handle.query(TicketWorkflow.state, now.isoformat())

    async def sleep(self, seconds: float) -> None:
        await skip(self.env, timedelta(seconds=seconds))


def clock(view: TicketView, name: str) -> ClockView:
    return next(c for c in view.clocks if c.name == name)


def local_minute(at: datetime, tz: ZoneInfo) -> datetime:
    """Local wall time to the minute (the ticket opened a few ms after the minute)."""
    return at.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def alerts(desk: Desk, ticket_id: str) -> list[str]:
    return [k for a, k in zip(desk.notifier.sent, desk.notifier.kinds(), strict=True)
            if a.subject_id == ticket_id]
