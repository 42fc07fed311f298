"""Feedback triage (rule 14): one FeedbackTriageWorkflow per stored feedback (id ``feedback-<ref>``).

The intake stores the feedback before it starts this workflow, so the workflow only decides and
acts: the decision (an activity, under the policy of the day) is kept in its history, the ticket it
opens has the id fixed at intake, an attachment to the customer's open ticket is a customer note on
that ticket (a new ticket if that one closed meanwhile), and the outcome is written last.

FeedbackSweepWorkflow, on a Temporal Schedule, starts the triage of feedback stored while Temporal
could not be reached, so nothing a customer sent waits for ever.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow, ScheduleIntervalSpec, ScheduleSpec

from workflows.names import FEEDBACK_SWEEP_WORKFLOW, FEEDBACK_WORKFLOW
from workflows.support import DB_RETRY, DB_TIMEOUT, ensure_schedule

with workflow.unsafe.imports_passed_through():
    from activities.feedback import FeedbackActivities
    from domain.feedback import FeedbackInput, TriageDecision

# Starting a ticket's workflow goes to Temporal itself: the same patient retries as the read model.
START_TIMEOUT = timedelta(seconds=60)


@workflow.defn(name=FEEDBACK_WORKFLOW)
class FeedbackTriageWorkflow:
    @workflow.run
    async def run(self, input: FeedbackInput) -> TriageDecision:
        decision = await workflow.execute_activity_method(
            FeedbackActivities.triage_feedback, input.ref, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        if decision.outcome == "attached":
            attached = await workflow.execute_activity_method(
                FeedbackActivities.attach_feedback, decision, start_to_close_timeout=START_TIMEOUT,
                retry_policy=DB_RETRY)
            if not attached:
                decision = replace(decision, outcome="ticket", ticket_id="T-" + input.ref)
        if decision.outcome == "ticket":
            await workflow.execute_activity_method(
                FeedbackActivities.open_feedback_ticket, decision, start_to_close_timeout=START_TIMEOUT,
                retry_policy=DB_RETRY)
        await workflow.execute_activity_method(
            FeedbackActivities.record_feedback_triage, decision, start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY)
        return decision


# Feedback older than this and still untriaged had its workflow start fail.
SWEEP_AFTER_SECONDS = 120.0


@workflow.defn(name=FEEDBACK_SWEEP_WORKFLOW)
class FeedbackSweepWorkflow:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity_method(
            FeedbackActivities.start_untriaged_feedback, SWEEP_AFTER_SECONDS, start_to_close_timeout=START_TIMEOUT,
            retry_policy=DB_RETRY)


FEEDBACK_SWEEP_SCHEDULE_ID = "qualitrail-feedback-sweep"


async def ensure_feedback_sweep_schedule(client: Client, task_queue: str) -> None:
    """Every five minutes: start the triage of feedback whose start failed."""
    await ensure_schedule(client, FEEDBACK_SWEEP_SCHEDULE_ID, Schedule(
        action=ScheduleActionStartWorkflow(FeedbackSweepWorkflow.run, id="feedback-sweep", task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=5))])))
