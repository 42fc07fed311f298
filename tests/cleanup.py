"""Ending what a test started on the shared time-skipping server."""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError


async def terminate_running(client: Client, workflow_ids: Iterable[str]) -> None:
    """A workflow left running without a worker would hold the test server's time skipping for the
    tests that come after (their sleeps then time out)."""
    for workflow_id in set(workflow_ids):
        handle = client.get_workflow_handle(workflow_id)
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")
        except RPCError:
            pass  # never started
