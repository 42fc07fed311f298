"""temporal.heartbeat.heartbeating keeps a blocked activity alive under a short heartbeat timeout."""

from __future__ import annotations

import time
import uuid

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from temporal.heartbeat import heartbeating
from tests.evidence.slow_workflow import SlowActivityWorkflow
from tests.helpers import new_worker


@activity.defn(name="slow_chain_call")
def slow_chain_call(seconds: float) -> str:
    # Stands in for a send + receipt wait: blocked in I/O, unable to heartbeat itself.
    if seconds > 0:
        with heartbeating(interval=0.3):
            time.sleep(seconds)
    else:
        time.sleep(-seconds)
    return "mined"


async def test_helper_thread_heartbeats_while_the_activity_blocks(local_env: WorkflowEnvironment) -> None:
    task_queue = str(uuid.uuid4())
    async with new_worker(local_env.client, slow_chain_call, task_queue=task_queue,
                          workflows=[SlowActivityWorkflow]):
        assert await local_env.client.execute_workflow(
            SlowActivityWorkflow.run, 2.5, id=str(uuid.uuid4()), task_queue=task_queue) == "mined"
        with pytest.raises(WorkflowFailureError):  # the same wait without it times out
            await local_env.client.execute_workflow(
                SlowActivityWorkflow.run, -2.5, id=str(uuid.uuid4()), task_queue=task_queue)
