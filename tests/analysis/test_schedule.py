"""The daily analysis is a Temporal Schedule, made once, at the policy's hour."""

from __future__ import annotations

import uuid

from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from tests.helpers import POLICY
from workflows.analysis import ANALYSIS_SCHEDULE_ID, ensure_analysis_schedule


async def test_the_schedule_is_daily_and_made_once(local_env: WorkflowEnvironment) -> None:
    queue = f"analysis-{uuid.uuid4()}"
    hour = POLICY.analysis.run_hour_utc
    await ensure_analysis_schedule(local_env.client, queue, hour)
    await ensure_analysis_schedule(local_env.client, queue, hour)
    handle = local_env.client.get_schedule_handle(ANALYSIS_SCHEDULE_ID)
    try:
        desc = await handle.describe()
        upcoming = desc.info.next_action_times[:3]
        assert [(t.hour, t.minute) for t in upcoming] == [(hour, 0)] * 3
        assert len({t.date() for t in upcoming}) == 3
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "DailyAnalysisWorkflow"
    finally:
        await handle.delete()
