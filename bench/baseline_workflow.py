"""Baseline for ``bench/lifecycle.py``: the ticket lifecycle's Temporal skeleton with no-op side effects.

It mirrors the activity pattern of ``workflows/ticket.py`` for create -> respond -> resolve ->
confirm, with nothing else:

- start: two activities (``record_ticket`` for the opened milestone, then ``find_repeat_complaint``),
  after which the ticket is "ready" and Updates may proceed;
- respond, resolve, confirm: one Update each, which waits for "ready", runs one activity (the
  ``record_ticket`` persisting its milestone) and returns once it completed;
- after confirm the workflow returns.

Imports only ``temporalio`` and the standard library, so its cost is Temporal's alone (server round
trips, the SDK, the sandbox), not our domain code, serialisation or read model.
"""

from __future__ import annotations

import concurrent.futures
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

TIMEOUT = timedelta(seconds=30)


@activity.defn(name="baseline_noop")
def noop(step: str) -> str:
    """Stands in for ``record_ticket`` / ``find_repeat_complaint``: sync, in the thread pool, as ours."""
    return step


@workflow.defn
class BaselineWorkflow:
    @workflow.init
    def __init__(self, ticket_id: str) -> None:
        self.ticket_id = ticket_id
        self.ready = False
        self.status = "open"

    @workflow.run
    async def run(self, ticket_id: str) -> str:
        await workflow.execute_activity(noop, "record:opened", start_to_close_timeout=TIMEOUT)
        await workflow.execute_activity(noop, "repeat-check", start_to_close_timeout=TIMEOUT)
        self.ready = True
        await workflow.wait_condition(lambda: self.status == "closed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    @workflow.query
    def state(self) -> str:
        """For the variant that also sends the API's queries (after create, before confirm)."""
        return self.status

    async def _step(self, status: str) -> str:
        await workflow.wait_condition(lambda: self.ready)
        self.status = status
        await workflow.execute_activity(noop, f"record:{status}", start_to_close_timeout=TIMEOUT)
        return self.status

    @workflow.update
    async def respond(self) -> str:
        return await self._step("acknowledged")

    @workflow.update
    async def resolve(self) -> str:
        return await self._step("resolved")

    @workflow.update
    async def confirm(self) -> str:
        return await self._step("closed")


def new_baseline_worker(client: Client, task_queue: str) -> Worker:
    """Same worker settings as ``worker.new_worker`` (32 activity threads, 1000 cached workflows)."""
    return Worker(client, task_queue=task_queue, workflows=[BaselineWorkflow], activities=[noop],
                  activity_executor=concurrent.futures.ThreadPoolExecutor(max_workers=32),
                  max_cached_workflows=1000)
