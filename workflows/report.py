"""QualityReportWorkflow: publishes one month's public quality report (rule 16), started each month by a
Temporal Schedule (``ensure_report_schedule``) after the month ends.

The work is one idempotent activity (compute with SQL aggregates, freeze the record, render the
PDFs, record the anchored milestone ``report-YYYY-MM``); the workflow picks the month
deterministically (from ``workflow.now()`` when the Schedule gives none) and retries until the read
model answers. Its id is per month, so a month is published by one workflow.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
)

from workflows.names import REPORT_WORKFLOW
from workflows.support import DB_RETRY, ensure_schedule, monthly, one_at_a_time

with workflow.unsafe.imports_passed_through():
    from activities.report import ReportActivities
    from domain.points import previous_month
    from domain.report import ReportMonthInput, ReportPublished

REPORT_SCHEDULE_ID = "qualitrail-quality-report-monthly"


@workflow.defn(name=REPORT_WORKFLOW)
class QualityReportWorkflow:
    @workflow.run
    async def run(self, input: ReportMonthInput) -> ReportPublished:
        month = input.month or previous_month(workflow.now())
        return await workflow.execute_activity_method(
            ReportActivities.publish_quality_report, ReportMonthInput(month=month),
            start_to_close_timeout=timedelta(minutes=10), retry_policy=DB_RETRY)


def report_schedule(task_queue: str) -> Schedule:
    """At 03:00 UTC on the 1st of each month (after the points close), publish the month that ended."""
    return one_at_a_time(ScheduleActionStartWorkflow(QualityReportWorkflow.run, ReportMonthInput(),
                                                     id="quality-report-month", task_queue=task_queue),
                         monthly(day=1, hour=3), catchup=timedelta(days=28))


async def ensure_report_schedule(client: Client, task_queue: str) -> None:
    """Creates the monthly schedule once (a second worker finds it there)."""
    await ensure_schedule(client, REPORT_SCHEDULE_ID, report_schedule(task_queue))
