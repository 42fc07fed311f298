"""Driving the time-skipping test server without losing a task to a stopping worker.

A worker that stops cancels its long polls; a poll the server has just handed a task is cancelled
with it, and the task is lost until its timeout (10 s for a workflow task, 30 s for our database
activities). A task out holds the server's clock, so that timeout passes in real time, and the
next skip's call gives up after its default 30 s (docs/testing.md: seen in CI, and reproduced).

So a test that stops a worker while its workflows live on lets them settle first (`restartable`),
and skips with room to wait (`skip`). The worker it restarts keeps no cache
(``max_cached_workflows=0``): a cached one leaves the next task on its sticky queue, where this
server lets it wait longer than a skip's deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.api.workflowservice.v1 import ListOpenWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# A skip is answered once every timer on the way has been handled by the worker; on a loaded
# machine (the other test lane beside this one) a skip of days took longer than the default 30 s.
SKIP_TIMEOUT = timedelta(minutes=3)
SETTLE_SECONDS = 30.0

_ACTIVITY_CLOSED = {EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED}
_WORKFLOW_TASK_CLOSED = {EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                         EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT}


async def skip(env: WorkflowEnvironment, by: timedelta) -> None:
    """`WorkflowEnvironment.sleep` with room to wait."""
    if not env.supports_time_skipping:
        await env.sleep(by)
        return
    request = SleepRequest()
    request.duration.FromTimedelta(by)
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_TIMEOUT)


async def tasks_out(client: Client, task_queue: str) -> dict[str, list[str]]:
    """Per open workflow of this task queue, the tasks the server has out (from its history)."""
    out: dict[str, list[str]] = {}
    token = b""
    while True:
        page = await client.workflow_service.list_open_workflow_executions(ListOpenWorkflowExecutionsRequest(
            namespace=client.namespace, maximum_page_size=1000, next_page_token=token))
        for info in page.executions:
            queue, workflow_task, activities = "", False, {}
            handle = client.get_workflow_handle(info.execution.workflow_id, run_id=info.execution.run_id)
            async for e in handle.fetch_history_events():
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                    queue = e.workflow_execution_started_event_attributes.task_queue.name
                elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                    workflow_task = True
                elif e.event_type in _WORKFLOW_TASK_CLOSED:
                    workflow_task = False
                elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    activities[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
                elif e.event_type in _ACTIVITY_CLOSED:
                    closing = getattr(e, str(e.WhichOneof("attributes")))
                    activities.pop(closing.scheduled_event_id, None)
            if queue == task_queue and (workflow_task or activities):
                tasks = ["workflow task"] if workflow_task else []
                out[info.execution.workflow_id] = tasks + list(activities.values())
        if not page.next_page_token:
            return out
        token = page.next_page_token


async def settled(client: Client, task_queue: str, seconds: float = SETTLE_SECONDS) -> None:
    """Waits until no open workflow of the task queue has a task out."""
    deadline = asyncio.get_running_loop().time() + seconds
    while out := await tasks_out(client, task_queue):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"tasks still out after {seconds:.0f} s: {out}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def restartable(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Worker]:
    """Runs a worker that a test stops while its workflows live on: it stops once they settle."""
    async with worker:
        yield worker
        if env.supports_time_skipping:
            await settled(env.client, worker.task_queue)
