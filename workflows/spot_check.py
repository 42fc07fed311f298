"""Monthly spot checks (抽查): one SpotCheckMonthWorkflow per month (id ``spot-check-YYYY-MM``),
started by SpotCheckKickoffWorkflow, which a Temporal Schedule runs on the 1st of each month.

The month's workflow sleeps until the seed rule's instant (month end + delay), takes the seed
from the chain, has the sample drawn and anchored (one idempotent activity), then runs a review
task per sampled ticket: a reminder to its reviewer before the due date and, when it is overdue,
one escalation (milestone and alert). Findings arrive as an Update, checked against the policy's
checklist, and become milestones of subject ``spotcheck-YYYY-MM`` that name the ticket and its
last leaf. When every task is reviewed, a summary milestone closes the month.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
)
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.names import SPOT_CHECK_KICKOFF_WORKFLOW, SPOT_CHECK_WORKFLOW, STATE_QUERY
from workflows.support import (
    DB_RETRY,
    DB_TIMEOUT,
    ensure_schedule,
    monthly,
    one_at_a_time,
    persist,
    ready_for,
    refuse,
    send_alerts,
)

with workflow.unsafe.imports_passed_through():
    from activities.spot_check import SpotCheckActivities
    from domain.encoding import format_time, parse_time
    from domain.milestones import Milestone, new_milestone
    from domain.points import month_bounds, previous_month
    from domain.spot_check import (
        FindingsInput,
        MajorFindingInput,
        RecordSpotCheckInput,
        ReviewTask,
        SampleRequest,
        SpotCheckInput,
        SpotCheckPolicy,
        canonical,
        spot_check_subject,
    )
    from domain.tickets import MilestoneView, Notification

# The seed block may be minutes away (or the node down): wait for it patiently.
SEED_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=10))


@workflow.defn(name=SPOT_CHECK_WORKFLOW)
class SpotCheckMonthWorkflow:
    @workflow.init
    def __init__(self, input: SpotCheckInput) -> None:
        assert input.policy is not None, "the kickoff fills the policy"
        self.month = input.month
        self.policy: SpotCheckPolicy = input.policy
        self.subject = spot_check_subject(input.month)
        self.tasks: dict[str, ReviewTask] = {}
        self.milestones: list[Milestone] = []
        self.persisted = 0
        self.alerts: list[Notification] = []
        self.by_step: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.strata = "{}"
        self.summary = ""
        self.ready = False
        self.wake = False

    @workflow.run
    async def run(self, input: SpotCheckInput) -> str:
        not_before = month_bounds(self.month)[1] + timedelta(hours=self.policy.seed_delay_hours)
        if workflow.now() < not_before:
            await workflow.sleep(not_before - workflow.now())
        seed = await workflow.execute_activity_method(
            SpotCheckActivities.find_seed_block, format_time(not_before),
            start_to_close_timeout=timedelta(seconds=60), retry_policy=SEED_RETRY)
        drawn = await workflow.execute_activity_method(
            SpotCheckActivities.draw_spot_check_sample,
            SampleRequest(self.month, seed, format_time(not_before), self.policy),
            start_to_close_timeout=timedelta(minutes=10), retry_policy=DB_RETRY)
        v = drawn.milestone
        self.milestones = [Milestone(self.subject, v.seq, v.kind, parse_time(v.at), v.prev, dict(v.data), v.leaf)]
        self.persisted = 1
        self.strata = v.data.get("strata", "{}")
        due = format_time(workflow.now() + timedelta(days=self.policy.review_days))
        for task in drawn.tasks:
            task.due_at = task.due_at or due
            self.tasks[task.ticket_id] = task
        await self._save()
        self.ready = True

        while True:
            changed = self._fire_timers(workflow.now())
            if changed and self.persisted == len(self.milestones):
                await self._save()
            await self._persist()
            await send_alerts(self.alerts)
            if all(t.status == "reviewed" for t in self.tasks.values()):
                break
            wake_at = self._next_timer()
            timeout = max(wake_at - workflow.now(), timedelta(seconds=1)) if wake_at else None
            try:
                await workflow.wait_condition(lambda: self.wake, timeout=timeout)
            except TimeoutError:
                pass
            self.wake = False

        await workflow.wait_condition(workflow.all_handlers_finished)
        self.summary = canonical({"strata": self.strata, "reviewed": len(self.tasks),
                                  "escalated": sum(t.escalated for t in self.tasks.values()),
                                  "findings_by_step": dict(self.by_step),
                                  "findings_by_severity": dict(self.by_severity)})
        self._add("spot_check_summary", {"month": self.month, "summary": self.summary})
        await self._persist()
        return self.summary

    # ---------------------------------------------------------------- timers

    def _reminder_at(self, task: ReviewTask) -> datetime:
        return parse_time(task.due_at) - timedelta(days=self.policy.reminder_days_before)

    def _next_timer(self) -> datetime | None:
        times = []
        for t in self.tasks.values():
            if t.status != "open":
                continue
            if not t.reminded and self.policy.reminder_days_before > 0:
                times.append(self._reminder_at(t))
            if not t.escalated:
                times.append(parse_time(t.due_at))
        return min(times) if times else None

    def _fire_timers(self, now: datetime) -> bool:
        changed = False
        for t in self.tasks.values():
            if t.status != "open":
                continue
            if not t.reminded and self.policy.reminder_days_before > 0 and now >= self._reminder_at(t):
                t.reminded = changed = True
                self._alert(f"{self.subject}:remind:{t.ticket_id}", t.reviewer, "spot_check_reminder",
                            f"Review of {t.ticket_id} is due {t.due_at}", t)
            if not t.escalated and now >= parse_time(t.due_at):
                t.escalated = changed = True
                m = self._add("spot_check_escalated", {"ticket_id": t.ticket_id, "reviewer": t.reviewer,
                                                       "due_at": t.due_at})
                self._alert(f"{self.subject}:{m.seq}", self.policy.escalate_to, m.kind,
                            f"Review of {t.ticket_id} by {t.reviewer} is overdue since {t.due_at}", t)
        return changed

    def _alert(self, key: str, recipient: str, kind: str, message: str, t: ReviewTask) -> None:
        self.alerts.append(Notification(idempotency_key=key, recipient=recipient, subject_id=self.subject, kind=kind,
                                        message=message, details={"ticket_id": t.ticket_id, "due_at": t.due_at}))

    # ---------------------------------------------------------------- findings

    @workflow.update
    async def record_findings(self, cmd: FindingsInput) -> ReviewTask:
        await ready_for(lambda: self.ready, self._validate_findings, cmd)
        task = self.tasks[cmd.ticket_id]
        for f in cmd.findings:
            self.by_step[f.step] += 1
            self.by_severity[f.severity] += 1
            self._add("spot_check_finding", {
                "ticket_id": task.ticket_id, "ticket_leaf": task.ticket_leaf, "deviation": f.deviation,
                "step": f.step, "severity": f.severity, "abnormal_feedback": str(f.abnormal_feedback).lower(),
                "reviewer": cmd.reviewer})
        m = self._add("spot_check_reviewed", {"ticket_id": task.ticket_id, "ticket_leaf": task.ticket_leaf,
                                              "findings": str(len(cmd.findings)), "reviewer": cmd.reviewer})
        task.status, task.findings = "reviewed", len(cmd.findings)
        await workflow.wait_condition(lambda: self.persisted > m.seq)
        # The worst finding may be a major complaint against the ticket's team (the policy says which).
        for severity in dict.fromkeys(f.severity for f in cmd.findings):
            await workflow.execute_activity_method(
                SpotCheckActivities.report_major_finding,
                MajorFindingInput(self.month, task.ticket_id, task.stratum.split("/")[0], severity,
                                  format_time(workflow.now())),
                start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        return task

    @record_findings.validator
    def _validate_findings(self, cmd: FindingsInput) -> None:
        if not self.ready:
            return  # checked again by the handler once the sample exists
        task = self.tasks.get(cmd.ticket_id)
        if task is None:
            refuse(f"ticket {cmd.ticket_id} is not in the {self.month} sample")
        elif task.status != "open":
            refuse(f"ticket {cmd.ticket_id} is already reviewed")
        checklist = self.policy.checklist
        for i, f in enumerate(cmd.findings):
            for name, value, allowed in (("deviation", f.deviation, checklist.deviations),
                                         ("step", f.step, checklist.steps),
                                         ("severity", f.severity, checklist.severities)):
                if value not in allowed:
                    refuse(f"findings[{i}].{name} must be one of {allowed}")

    @workflow.query(name=STATE_QUERY)
    def state(self) -> list[ReviewTask]:
        return list(self.tasks.values())

    # ---------------------------------------------------------------- record

    def _add(self, kind: str, data: dict[str, str]) -> Milestone:
        m = new_milestone(self.subject, self.milestones[-1] if self.milestones else None, kind, workflow.now(), data)
        self.milestones.append(m)
        self.wake = True
        return m

    def _record(self, views: list[MilestoneView]) -> RecordSpotCheckInput:
        return RecordSpotCheckInput(self.month, list(self.tasks.values()), views, self.summary)

    async def _persist(self) -> None:
        await persist(self, self._record, SpotCheckActivities.record_spot_check)

    async def _save(self) -> None:
        await workflow.execute_activity_method(SpotCheckActivities.record_spot_check, self._record([]),
                                               start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)


@workflow.defn(name=SPOT_CHECK_KICKOFF_WORKFLOW)
class SpotCheckKickoffWorkflow:
    """What the schedule starts: the month before, with the policy of the day, once per month."""

    @workflow.run
    async def run(self, input: SpotCheckInput) -> str:
        month = input.month or previous_month(workflow.now())
        policy = input.policy or await workflow.execute_activity_method(
            SpotCheckActivities.spot_check_policy, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        try:
            await workflow.start_child_workflow(
                SpotCheckMonthWorkflow.run, SpotCheckInput(month, policy), id=f"spot-check-{month}",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            workflow.logger.info("spot check of %s already started", month)
        return month


SPOT_CHECK_SCHEDULE_ID = "qualitrail-spot-check-monthly"


def spot_check_schedule(task_queue: str) -> Schedule:
    """00:05 UTC on the 1st: the kickoff starts the check of the month that just ended."""
    return one_at_a_time(ScheduleActionStartWorkflow(SpotCheckKickoffWorkflow.run, SpotCheckInput(),
                                                     id="spot-check-kickoff", task_queue=task_queue),
                         monthly(day=1, hour=0, minute=5), catchup=timedelta(days=28))


async def ensure_spot_check_schedule(client: Client, task_queue: str) -> None:
    """Creates the monthly schedule once (a second worker finds it there)."""
    await ensure_schedule(client, SPOT_CHECK_SCHEDULE_ID, spot_check_schedule(task_queue))
