"""TeamVetoWorkflow (质量一票否决): one workflow per team and calendar year (id ``veto-<team>-<year>``).

Major complaints arrive as signals (signal-with-start, from the daily scan and from the quality
department); each counts once (its source key) and becomes a milestone of the team-year's chain.
The complaint that reaches the policy's number flips the award eligibility, once: a milestone and
one alert to the team's head and one to the quality committee. The workflow closes after the year
plus a grace period, so a new year starts from zero in a new workflow.

VetoScanWorkflow, started by a Schedule, has an activity look for resolution breaches of complaint
categories and report them.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from workflows.names import MAJOR_COMPLAINT_SIGNAL, STATE_QUERY, VETO_SCAN_WORKFLOW, VETO_WORKFLOW
from workflows.support import DB_RETRY, ensure_schedule, persist, send_alerts

with workflow.unsafe.imports_passed_through():
    from activities.veto import VetoActivities
    from domain.encoding import format_time, parse_time
    from domain.milestones import Milestone, new_milestone
    from domain.tickets import Notification
    from domain.veto import (
        AWARD_ELIGIBILITY_LOST,
        MAJOR_COMPLAINT_COUNTED,
        VETO_YEAR_CLOSED,
        VETO_YEAR_OPENED,
        MajorComplaint,
        RecordVetoInput,
        ScanRequest,
        VetoInput,
        VetoView,
        veto_subject,
        year_end,
        year_of,
    )

VETO_SCAN_SCHEDULE_ID = "qualitrail-veto-scan"


@workflow.defn(name=VETO_WORKFLOW)
class TeamVetoWorkflow:
    @workflow.init
    def __init__(self, input: VetoInput) -> None:
        self.input = input
        self.subject = veto_subject(input.team, input.year)
        self.complaints: list[MajorComplaint] = []
        self.crossed_at: str | None = None
        self.milestones: list[Milestone] = []
        self.persisted = 0
        self.alerts: list[Notification] = []
        self.wake = False
        # Here, not in run(): a start signal is handled before run() begins, and the chain opens first.
        self._add(VETO_YEAR_OPENED, {"team": input.team, "year": str(input.year),
                                     "threshold": str(input.policy.threshold)})

    @workflow.run
    async def run(self, input: VetoInput) -> VetoView:
        closes = year_end(input.year, input.policy.timezone) + timedelta(days=input.policy.grace_days)
        while True:
            await self._persist()
            await send_alerts(self.alerts)
            remaining = closes - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(lambda: self.wake, timeout=remaining)
            except TimeoutError:
                pass
            self.wake = False
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._add(VETO_YEAR_CLOSED, {"count": str(len(self.complaints)), "eligible": str(self.eligible).lower()})
        await self._persist()
        await send_alerts(self.alerts)
        return self.state()

    @property
    def eligible(self) -> bool:
        return self.crossed_at is None

    @workflow.signal(name=MAJOR_COMPLAINT_SIGNAL)
    def major_complaint(self, complaint: MajorComplaint) -> None:
        if any(c.source_key == complaint.source_key for c in self.complaints):
            return  # reported again (overlapping scans, a retried request): counts once
        if complaint.team != self.input.team or year_of(parse_time(complaint.at), self.input.policy.timezone) \
                != self.input.year:
            workflow.logger.warning("%s is not a complaint of %s", complaint.source_key, self.subject)
            return
        self.complaints.append(complaint)
        self._add(MAJOR_COMPLAINT_COUNTED, {"source_key": complaint.source_key, "kind": complaint.kind,
                                            "ticket_id": complaint.ticket_id, "at": complaint.at,
                                            "actor": complaint.actor, "count": str(len(self.complaints))})
        if self.eligible and len(self.complaints) >= self.input.policy.threshold:
            self.crossed_at = format_time(workflow.now())
            m = self._add(AWARD_ELIGIBILITY_LOST, {"count": str(len(self.complaints)),
                                                   "threshold": str(self.input.policy.threshold)})
            for recipient in self.input.policy.recipients:
                self.alerts.append(Notification(
                    idempotency_key=f"{self.subject}:{m.seq}:{recipient}", recipient=recipient,
                    subject_id=self.subject, kind=m.kind,
                    message=(f"Team {self.input.team} has {len(self.complaints)} major complaints in "
                             f"{self.input.year} and loses its award eligibility"),
                    details={"team": self.input.team, "year": str(self.input.year),
                             "count": str(len(self.complaints))}))

    @workflow.query(name=STATE_QUERY)
    def state(self) -> VetoView:
        return VetoView(team=self.input.team, year=self.input.year, threshold=self.input.policy.threshold,
                        count=len(self.complaints), eligible=self.eligible, crossed_at=self.crossed_at,
                        complaints=list(self.complaints))

    def _add(self, kind: str, data: dict[str, str]) -> Milestone:
        m = new_milestone(self.subject, self.milestones[-1] if self.milestones else None, kind, workflow.now(), data)
        self.milestones.append(m)
        self.wake = True
        return m

    async def _persist(self) -> None:
        await persist(self, lambda views: RecordVetoInput(view=self.state(), milestones=views),
                      VetoActivities.record_veto)


@workflow.defn(name=VETO_SCAN_WORKFLOW)
class VetoScanWorkflow:
    @workflow.run
    async def run(self, request: ScanRequest) -> int:
        until = request.until or format_time(workflow.now())
        return await workflow.execute_activity_method(
            VetoActivities.scan_major_complaints, ScanRequest(until=until),
            start_to_close_timeout=timedelta(minutes=10), heartbeat_timeout=timedelta(minutes=2),
            retry_policy=DB_RETRY)


def veto_scan_schedule(task_queue: str, every_hours: float) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(VetoScanWorkflow.run, ScanRequest(), id="veto-scan", task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=every_hours))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))


async def ensure_veto_schedule(client: Client, task_queue: str, every_hours: float) -> None:
    """Creates the scan schedule once (a second worker finds it there)."""
    await ensure_schedule(client, VETO_SCAN_SCHEDULE_ID, veto_scan_schedule(task_queue, every_hours))
