"""DailyStaffingWorkflow (rule 7): each day the volume forecast becomes agents needed per day and team,
stored as the day's plan; every (day, team) whose roster on record is short alerts the team head and
the quality committee, once. A Temporal Schedule starts it at ``[staffing] run_hour_utc``.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
)

from workflows.support import (
    DB_RETRY,
    DB_TIMEOUT,
    LONG_RUN_RETRY,
    daily_at,
    ensure_schedule,
    one_at_a_time,
    send_alerts,
)

with workflow.unsafe.imports_passed_through():
    from activities.staffing import StaffingActivities
    from domain.staffing import STAFFING_SHORTFALL, StaffingOutcome, StaffingRequest, shortfall_key
    from domain.tickets import Notification

STAFFING_WORKFLOW = "DailyStaffingWorkflow"
STAFFING_SCHEDULE_ID = "qualitrail-staffing-daily"


@workflow.defn(name=STAFFING_WORKFLOW)
class DailyStaffingWorkflow:
    @workflow.run
    async def run(self, req: StaffingRequest) -> StaffingOutcome:
        request = StaffingRequest(run_key=req.run_key or workflow.now().date().isoformat())
        plan = await workflow.execute_activity_method(
            StaffingActivities.plan_staffing, request, start_to_close_timeout=timedelta(minutes=20),
            heartbeat_timeout=timedelta(minutes=10), retry_policy=LONG_RUN_RETRY)
        shorts = await workflow.execute_activity_method(
            StaffingActivities.find_shortfalls, request, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        alerts = [Notification(
            idempotency_key=shortfall_key(s, recipient), recipient=recipient, subject_id=s.team,
            kind=STAFFING_SHORTFALL,
            message=(f"Team {s.team} is {s.short_by} agent(s) short on {s.day}: {s.needed} needed for "
                     f"{s.volume:.0f} forecast tickets, {s.rostered} on the roster"),
            details={"team": s.team, "day": s.day, "needed": str(s.needed), "rostered": str(s.rostered),
                     "short_by": str(s.short_by), "forecast_volume": f"{s.volume:.1f}",
                     "run_key": request.run_key})
            for s in shorts for recipient in s.recipients]
        sent = len(alerts)
        await send_alerts(alerts)
        return StaffingOutcome(run_key=request.run_key, plan=plan, shortfalls=len(shorts), alerts=sent)


def staffing_schedule(task_queue: str, hour: int) -> Schedule:
    """Every day at ``hour``:00 UTC; a run still going when the next is due makes the next skip."""
    return one_at_a_time(ScheduleActionStartWorkflow(DailyStaffingWorkflow.run, StaffingRequest(),
                                                     id="staffing-daily", task_queue=task_queue),
                         daily_at(hour),
                         catchup=timedelta(hours=12))


async def ensure_staffing_schedule(client: Client, task_queue: str, hour: int) -> None:
    """Creates the daily schedule once (a second worker finds it there)."""
    await ensure_schedule(client, STAFFING_SCHEDULE_ID, staffing_schedule(task_queue, hour))
