"""Records a joint meeting's history for the replay test (issue 15d):
`python -m tests.workflows.record_meeting_history`.

A meeting whose first solution reopens it (repeat rate worse) and whose second is verified, so the
history holds both ends of `_verify`. Recorded with the code before the problem's share joined the
effect (commit e881506), so the replay test proves the share changed no workflow command. As with
record_histories.py: commit new files beside the old ones, never instead of them.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.governance import AnalysisInput, SolutionAction, SolutionInput
from tests.governance.board import DAY, Board, H
from workflows.joint_meeting import JointMeetingWorkflow

OUT = Path(__file__).parent / "histories"
SOLUTION = SolutionInput(root_cause="handoff_gap",
                         actions=[SolutionAction("shared hand-off checklist", "logistics-head", "2026-12-15")],
                         actor="quality#2")


async def main() -> None:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    with tempfile.TemporaryDirectory() as tmp:
        board = Board(env, Path(tmp))
        async with board.worker():
            h = await board.start_meeting(linked=["T-history-1"])
            start = await board.now()
            board.add_ticket(created_at=start - timedelta(days=3))
            await h.execute_update(JointMeetingWorkflow.submit_analysis, AnalysisInput("after-sales", "0xa1"))
            await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
            board.add_ticket(created_at=start + timedelta(days=2), repeat_of="T-x")  # worse: reopens
            await board.sleep(30 * DAY + H)
            assert (await h.query(JointMeetingWorkflow.state)).round == 2
            await h.execute_update(JointMeetingWorkflow.submit_solution, SOLUTION)
            board.add_ticket(created_at=start + timedelta(days=40))  # no repeat after: verified
            await board.sleep(30 * DAY + H)
            view = await h.result()
            assert view.status == "verified", view.status
            (OUT / "history-joint-meeting.json").write_text((await h.fetch_history()).to_json())
        await board.close()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
