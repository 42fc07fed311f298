"""Records TicketWorkflow histories for the replay test: `python -m tests.workflows.record_histories`.

Run it when a workflow change is deliberate (and guarded by workflow.patched); commit the new files
next to the old ones, never instead of them, so running tickets keep replaying.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.tickets import (
    ActorInput,
    AssignInput,
    ConfirmInput,
    NoteInput,
    PriorityInput,
    ResolveInput,
    RespondInput,
)
from tests.helpers import ticket_input
from tests.workflows.desk import Desk, H
from workflows.ticket import TicketWorkflow

OUT = Path(__file__).parent / "histories"


async def main() -> None:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(env, Path(tmp))
        async with desk.worker():
            full = await desk.start(ticket_input("history-full-lifecycle"))
            await full.execute_update(TicketWorkflow.assign, AssignInput("agent-7"))
            await desk.sleep(40 * 60)  # first-response breach
            await full.execute_update(TicketWorkflow.respond, RespondInput("0xabc"))
            await full.execute_update(TicketWorkflow.add_note, NoteInput("0xdef"))
            await full.execute_update(TicketWorkflow.wait_for_customer, ActorInput(reason="photos"))
            await desk.sleep(5 * H)
            await full.execute_update(TicketWorkflow.change_priority, PriorityInput("P2"))
            await full.execute_update(TicketWorkflow.customer_replied, ActorInput())
            await full.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
            await desk.sleep(H)
            await full.execute_update(TicketWorkflow.reopen, ActorInput(reason="again"))
            await desk.sleep(30 * H)  # resolution breach
            await full.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
            await full.execute_update(TicketWorkflow.confirm, ConfirmInput(4))
            await full.result()

            cancelled = await desk.start(ticket_input("history-cancelled"))
            await cancelled.execute_update(TicketWorkflow.cancel, ActorInput(reason="spam"))
            await cancelled.result()

            auto = await desk.start(ticket_input("history-auto-closed"))
            await auto.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
            await auto.result()
            for handle in (full, cancelled, auto):
                history = await handle.fetch_history()
                (OUT / f"{handle.id}.json").write_text(history.to_json())
        await desk.close()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
