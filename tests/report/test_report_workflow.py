"""The report is published by a workflow that a monthly Temporal Schedule starts (the month before its start)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from activities.report import ReportActivities
from domain.points import previous_month
from domain.report import ReportMonthInput
from readmodel import report
from readmodel.db import init_db, session_scope
from tests.helpers import new_worker, tmp_db_url
from tests.report.conftest import POLICY
from tests.report.planted import MONTH, plant
from workflows.report import REPORT_SCHEDULE_ID, QualityReportWorkflow, ensure_report_schedule


async def test_the_workflow_publishes_the_month_before_its_start(own_env: WorkflowEnvironment,
                                                                 tmp_path: Path) -> None:
    db_url = tmp_db_url(tmp_path)
    plant(db_url)
    acts = ReportActivities(db_url, POLICY)
    async with new_worker(own_env.client, acts.publish_quality_report, workflows=[QualityReportWorkflow]) as worker:
        explicit = await own_env.client.execute_workflow(
            QualityReportWorkflow.run, ReportMonthInput(MONTH), id=f"report-{uuid.uuid4()}",
            task_queue=worker.task_queue)
        # As the Schedule starts it: no month, so the month before the workflow's own time.
        handle = await own_env.client.start_workflow(
            QualityReportWorkflow.run, ReportMonthInput(), id=f"report-{uuid.uuid4()}", task_queue=worker.task_queue)
        scheduled = await handle.result()
    assert explicit.month == MONTH and explicit.tickets == 10
    assert scheduled.month == previous_month((await handle.describe()).start_time)
    with session_scope(db_url) as session:
        assert report.get_report(session=session, month=MONTH) is not None


async def test_the_schedule_is_monthly_made_once_and_starts_the_workflow(local_env: WorkflowEnvironment,
                                                                        tmp_path: Path) -> None:
    db_url = tmp_db_url(tmp_path)
    init_db(db_url)
    queue = f"report-{uuid.uuid4()}"
    await ensure_report_schedule(local_env.client, queue)
    await ensure_report_schedule(local_env.client, queue)  # a second worker starting
    handle = local_env.client.get_schedule_handle(REPORT_SCHEDULE_ID)
    try:
        desc = await handle.describe()
        upcoming = desc.info.next_action_times[:3]
        assert [(t.day, t.hour, t.minute) for t in upcoming] == [(1, 3, 0)] * 3
        assert len({(t.year, t.month) for t in upcoming}) == 3
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "QualityReportWorkflow"
        acts = ReportActivities(db_url, POLICY)
        async with new_worker(local_env.client, acts.publish_quality_report, workflows=[QualityReportWorkflow],
                              task_queue=queue):
            await handle.trigger()
            for _ in range(150):
                with session_scope(db_url) as session:
                    if report.get_report(session=session, month=previous_month(datetime.now(UTC))) is not None:
                        break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the triggered schedule did not publish the month")
    finally:
        await handle.delete()
