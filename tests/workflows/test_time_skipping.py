"""The harness's guard against a stopping worker losing a task (tests/time_skipping.py): it sees the
tasks the server has out, and a restartable worker stops only once there are none."""

from __future__ import annotations

import asyncio

import pytest

from readmodel import crud
from readmodel.db import session_scope
from tests.helpers import new_worker, ticket_input
from tests.time_skipping import settled, tasks_out
from tests.workflows.desk import Desk
from workflows.ticket import TicketWorkflow


async def test_tasks_out_are_seen_and_a_restartable_worker_waits_for_them(desk: Desk) -> None:
    ticket = ticket_input()
    handle = await desk.client.start_workflow(TicketWorkflow.run, ticket, id=ticket.ticket_id,
                                              task_queue=desk.task_queue)
    desk.handles.append(handle)
    assert await tasks_out(desk.client, desk.task_queue) == {handle.id: ["workflow task"]}
    assert await tasks_out(desk.client, f"not-{desk.task_queue}") == {}

    # A worker without activities runs the workflow task; the activity it schedules stays out.
    async with new_worker(desk.client, task_queue=desk.task_queue, max_cached_workflows=0):
        async with asyncio.timeout(30):
            while True:
                if await tasks_out(desk.client, desk.task_queue) == {handle.id: ["record_ticket"]}:
                    break
                await asyncio.sleep(0.05)
        with pytest.raises(AssertionError, match="record_ticket"):
            await settled(desk.client, desk.task_queue, seconds=0.5)

    async with desk.worker():
        pass  # leaves once the activity and the workflow task after it are done
    assert await tasks_out(desk.client, desk.task_queue) == {}
    with session_scope(desk.db_url) as session:  # the activity ran
        assert [m.kind for m in crud.milestones_of(session=session, subject=ticket.ticket_id)] == ["opened"]
