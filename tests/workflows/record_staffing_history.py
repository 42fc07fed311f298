"""Records a history of DailyStaffingWorkflow for the replay test (issue 15):
`python -m tests.workflows.record_staffing_history`.

A generated history, one short roster day: the run plans, finds the shortfall and sends its two
alerts. As with record_histories.py: commit new files beside the old ones, never instead of them.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.notify import Notifier
from activities.staffing import StaffingActivities
from cli.data import write_history
from domain.staffing import StaffingRequest
from readmodel import staffing as store
from readmodel.db import session_scope
from settings import ROOT
from tests.analysis.test_staffing_workflow import HISTORY, RUN_KEY
from tests.helpers import new_worker, tmp_db_url
from workflows.staffing import DailyStaffingWorkflow

OUT = Path(__file__).parent / "histories"


async def main() -> None:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    with tempfile.TemporaryDirectory() as tmp:
        url = tmp_db_url(Path(tmp))
        write_history(url, HISTORY)
        with session_scope(url) as session:
            store.put_roster(session, team="after-sales", days=[(date(2026, 5, 6), 0)], by="recorder")
        acts = StaffingActivities(url, ROOT / "config" / "policy.toml")
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
        try:
            queue = f"record-{uuid.uuid4()}"
            async with new_worker(env.client, acts.plan_staffing, acts.find_shortfalls, Notifier(db_url=url).notify,
                                  task_queue=queue, workflows=[DailyStaffingWorkflow]):
                handle = await env.client.start_workflow(DailyStaffingWorkflow.run, StaffingRequest(RUN_KEY),
                                                         id=f"staffing-{RUN_KEY}", task_queue=queue,
                                                         execution_timeout=timedelta(minutes=10))
                await handle.result()
                (OUT / "history-staffing-day.json").write_text((await handle.fetch_history()).to_json())
        finally:
            await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
