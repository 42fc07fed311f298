"""The observer panel's quarterly review (rule 15): one ObserverRoundWorkflow per quarter (id
``observer-round-YYYY-Qn``), started by ObserverKickoffWorkflow, which a Temporal Schedule runs on
the first day of each quarter.

The round invites every active observer, reminds those who have not reviewed at the policy's
reminder days (durable timers), collects reviews as an Update (each stored once), and after the
meeting delay holds the review meeting: its record (who took part, scores by process, who did not)
is stored and sent to the quality committee. An observer's suggestion is not part of the round: it
is feedback of the channel ``observer`` and becomes a ticket with its own, shorter targets.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.names import OBSERVER_KICKOFF_WORKFLOW, OBSERVER_ROUND_WORKFLOW, STATE_QUERY
from workflows.support import DB_RETRY, DB_TIMEOUT, ensure_schedule, one_at_a_time, ready_for, refuse, send_alerts

with workflow.unsafe.imports_passed_through():
    from activities.observers import ObserverActivities
    from domain.encoding import format_time
    from domain.observers import (
        ReviewInput,
        ReviewRecord,
        RoundInput,
        RoundPolicy,
        RoundRecord,
        RoundView,
        meeting_record,
        previous_quarter,
    )
    from domain.tickets import Notification


@workflow.defn(name=OBSERVER_ROUND_WORKFLOW)
class ObserverRoundWorkflow:
    @workflow.init
    def __init__(self, input: RoundInput) -> None:
        self.quarter = input.quarter
        self.policy: RoundPolicy | None = input.policy
        self.invited: list[str] = []
        self.reviews: list[ReviewInput] = []
        self.reminders = 0
        self.meeting: str | None = None
        self.alerts: list[Notification] = []
        self.ready = False

    @workflow.run
    async def run(self, input: RoundInput) -> str:
        started = await workflow.execute_activity_method(
            ObserverActivities.start_observer_round, self.quarter, start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY)
        policy = self.policy = self.policy or started.policy
        self.invited = started.observers
        begin = workflow.now()
        due = begin + timedelta(days=policy.review_days)
        for observer in self.invited:
            self._alert(f"observer-round-{self.quarter}:invite:{observer}", observer, "observer_invitation",
                        f"You are invited to review our service processes for {self.quarter} by {format_time(due)}")
        self.ready = True
        await send_alerts(self.alerts)
        for day in sorted(policy.reminder_days):
            if day >= policy.review_days:
                continue
            await self._until(begin + timedelta(days=day))
            pending = [o for o in self.invited if o not in self._reviewers()]
            if not pending:
                break
            self.reminders += 1
            for observer in pending:
                self._alert(f"observer-round-{self.quarter}:remind{self.reminders}:{observer}", observer,
                            "observer_reminder", f"Your review for {self.quarter} is due {format_time(due)}")
            await send_alerts(self.alerts)
            await self._save("collecting")
        await self._until(begin + timedelta(days=policy.meeting_after_days))
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.meeting = meeting_record(self.quarter, self.invited, self.reviews, format_time(workflow.now()))
        await self._save("met")
        self._alert(f"observer-round-{self.quarter}:meeting", policy.quality_committee, "observer_meeting",
                    f"Observer review meeting of {self.quarter} held: {len(self._reviewers())} of "
                    f"{len(self.invited)} observers reviewed")
        await send_alerts(self.alerts)
        return self.meeting

    async def _until(self, at: datetime) -> None:
        """A durable timer to ``at`` (a replay after a crash waits only for what is left)."""
        if at > workflow.now():
            await workflow.sleep(at - workflow.now())

    def _reviewers(self) -> set[str]:
        return {r.observer_id for r in self.reviews}

    def _alert(self, key: str, recipient: str, kind: str, message: str) -> None:
        self.alerts.append(Notification(idempotency_key=key, recipient=recipient,
                                        subject_id=f"observers-{self.quarter}", kind=kind, message=message,
                                        details={"quarter": self.quarter}))

    async def _save(self, status: str) -> None:
        await workflow.execute_activity_method(
            ObserverActivities.record_observer_round,
            RoundRecord(self.quarter, status, list(self.invited), self.reminders, self.meeting),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)

    @workflow.update
    async def submit_review(self, review: ReviewInput) -> RoundView:
        await ready_for(lambda: self.ready, self._validate_review, review)
        self.reviews.append(review)
        await workflow.execute_activity_method(
            ObserverActivities.record_observer_review, ReviewRecord(self.quarter, review, format_time(workflow.now())),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        return self.state()

    @submit_review.validator
    def _validate_review(self, review: ReviewInput) -> None:
        if self.meeting is not None:
            refuse(f"the {self.quarter} round is closed: its meeting was held")
        if not self.ready:
            return  # checked again once the invitations are out
        if review.observer_id not in self.invited:
            refuse(f"observer {review.observer_id} was not invited to the {self.quarter} round")
        if not 1 <= review.score <= 5:
            refuse("score must be 1 to 5")
        if any(r.observer_id == review.observer_id and r.process == review.process for r in self.reviews):
            refuse(f"observer {review.observer_id} already reviewed {review.process} this quarter")

    @workflow.query(name=STATE_QUERY)
    def state(self) -> RoundView:
        reviewed: dict[str, list[str]] = {}
        for r in self.reviews:
            reviewed.setdefault(r.observer_id, []).append(r.process)
        return RoundView(self.quarter, "met" if self.meeting else "collecting", list(self.invited), reviewed,
                         self.reminders, self.meeting)


@workflow.defn(name=OBSERVER_KICKOFF_WORKFLOW)
class ObserverKickoffWorkflow:
    """What the schedule starts: the round of the quarter that just ended, once."""

    @workflow.run
    async def run(self, input: RoundInput) -> str:
        quarter = input.quarter or previous_quarter(workflow.now())
        try:
            await workflow.start_child_workflow(
                ObserverRoundWorkflow.run, RoundInput(quarter, input.policy), id=f"observer-round-{quarter}",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            workflow.logger.info("observer round of %s already started", quarter)
        return quarter


OBSERVER_SCHEDULE_ID = "qualitrail-observer-round-quarterly"


def observer_schedule(task_queue: str) -> Schedule:
    """01:00 UTC on the first day of January, April, July and October."""
    spec = ScheduleSpec(calendars=[ScheduleCalendarSpec(
        month=[ScheduleRange(1), ScheduleRange(4), ScheduleRange(7), ScheduleRange(10)],
        day_of_month=[ScheduleRange(1)], hour=[ScheduleRange(1)], minute=[ScheduleRange(0)],
        second=[ScheduleRange(0)])])
    return one_at_a_time(ScheduleActionStartWorkflow(ObserverKickoffWorkflow.run, RoundInput(),
                                                     id="observer-round-kickoff", task_queue=task_queue),
                         spec, catchup=timedelta(days=28))


async def ensure_observer_schedule(client: Client, task_queue: str) -> None:
    """Creates the quarterly schedule once (a second worker finds it there)."""
    await ensure_schedule(client, OBSERVER_SCHEDULE_ID, observer_schedule(task_queue))
