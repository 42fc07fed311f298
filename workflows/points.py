"""PointsMonthWorkflow: closes one month of the personal-points ledger (rule 9), started each month
by a Temporal Schedule (``ensure_points_schedule``) a day after the month ends.

The ledger work is one idempotent activity; the workflow only picks the month deterministically
(from ``workflow.now()`` when the schedule gives none) and retries until the read model answers.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
)

from workflows.names import POINTS_WORKFLOW
from workflows.support import DB_RETRY, ensure_schedule, monthly, one_at_a_time

with workflow.unsafe.imports_passed_through():
    from activities.points import PointsActivities
    from domain.points import MonthClosed, PointsMonthInput, previous_month

POINTS_SCHEDULE_ID = "qualitrail-points-monthly"


@workflow.defn(name=POINTS_WORKFLOW)
class PointsMonthWorkflow:
    @workflow.run
    async def run(self, input: PointsMonthInput) -> MonthClosed:
        month = input.month or previous_month(workflow.now())
        return await workflow.execute_activity_method(
            PointsActivities.close_points_month, PointsMonthInput(month=month),
            start_to_close_timeout=timedelta(minutes=10), retry_policy=DB_RETRY)


def points_schedule(task_queue: str) -> Schedule:
    """At 02:00 UTC on the 1st of each month, close the month that just ended (one run at a time)."""
    return one_at_a_time(ScheduleActionStartWorkflow(PointsMonthWorkflow.run, PointsMonthInput(), id="points-month",
                                                     task_queue=task_queue),
                         monthly(day=1, hour=2), catchup=timedelta(days=28))


async def ensure_points_schedule(client: Client, task_queue: str) -> None:
    """Creates the monthly schedule once (a second worker finds it there)."""
    await ensure_schedule(client, POINTS_SCHEDULE_ID, points_schedule(task_queue))
