"""DailyAnalysisWorkflow (rule 6, 11, 13, 20): each day, root causes and the priority list are computed
and stored, systemic problems are proposed to the quality committee (once per problem), and new
cases join the case library. A Temporal Schedule starts it at the policy's hour (``[analysis]
run_hour_utc``); the activities do all reading and writing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
)

from workflows.support import LONG_RUN_RETRY, daily_at, ensure_schedule, one_at_a_time

with workflow.unsafe.imports_passed_through():
    from activities.analysis import AnalysisActivities
    from domain.analysis import AnalysisOutcome, AnalysisRequest

ANALYSIS_WORKFLOW = "DailyAnalysisWorkflow"
ANALYSIS_SCHEDULE_ID = "qualitrail-analysis-daily"


@workflow.defn(name=ANALYSIS_WORKFLOW)
class DailyAnalysisWorkflow:
    @workflow.run
    async def run(self, req: AnalysisRequest) -> AnalysisOutcome:
        run_key = req.run_key or workflow.now().date().isoformat()
        request = AnalysisRequest(run_key=run_key)
        outcome = await workflow.execute_activity_method(
            AnalysisActivities.analyse_root_causes, request, start_to_close_timeout=timedelta(minutes=20),
            retry_policy=LONG_RUN_RETRY)
        outcome.cases_added = await workflow.execute_activity_method(
            AnalysisActivities.refresh_case_library, request, start_to_close_timeout=timedelta(minutes=20),
            retry_policy=LONG_RUN_RETRY)
        return outcome


def analysis_schedule(task_queue: str, hour: int) -> Schedule:
    """Every day at ``hour``:00 UTC; a run still going when the next is due makes the next skip."""
    return one_at_a_time(ScheduleActionStartWorkflow(DailyAnalysisWorkflow.run, AnalysisRequest(),
                                                     id="analysis-daily", task_queue=task_queue),
                         daily_at(hour),
                         catchup=timedelta(hours=12))


async def ensure_analysis_schedule(client: Client, task_queue: str, hour: int) -> None:
    """Creates the daily schedule once (a second worker finds it there)."""
    await ensure_schedule(client, ANALYSIS_SCHEDULE_ID, analysis_schedule(task_queue, hour))
