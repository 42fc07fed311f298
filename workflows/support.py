"""What every workflow shares: retry policies, the refusal of a command, the Update preamble, the
single persist loop and alert delivery (deterministic code), and how the monthly and daily
Schedules that start some of them are written and created (called by the worker, not by workflows).

Activities are called by reference to their definitions (``TicketActivities.record_ticket``), so
their names and result types come from one place. The activity modules are passed through the
sandbox (imported once, outside it) and are only referenced here, never called directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn, Protocol

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from workflows.names import REFUSED

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notifier
    from domain.milestones import Milestone, format_time
    from domain.tickets import MilestoneView, Notification

# The read model comes back by itself (a restart, a failover): retry without end, backing off.
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# The daily analysis and staffing runs: a fit over years of history takes minutes, so a failure is
# retried a few times, slowly (a database outage), and then left for the next day's run.
LONG_RUN_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=2),
                             maximum_attempts=5)
DB_TIMEOUT = timedelta(seconds=30)
# A department head's webhook may be down for a while, but not forever: give up after 20 tries.
NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5),
                           maximum_attempts=20)

# Histories written before the re-check (decision 006) replay without it.
RECHECK_WHEN_READY = "recheck-command-when-ready"


def refuse(message: str) -> NoReturn:
    """Refuse a command: its Update fails (the API answers 409 with ``message``); the workflow goes on."""
    raise ApplicationError(message, type=REFUSED, non_retryable=True)


async def ready_for(ready: Callable[[], bool], validate: Callable[[Any], None], cmd: Any) -> None:
    """How every Update handler begins: wait for ``ready``, then check the command again.

    A validator sees the state when its Update arrives. Two Updates that arrive together (a client's
    retry after an outage and the original delivered late, say) are both validated before either
    handler runs, so a handler that trusted its validator alone would apply the same command twice.
    The chaos run (bench/chaos.py) caught exactly that: two first responses on one ticket.
    """
    await workflow.wait_condition(ready)
    if workflow.patched(RECHECK_WHEN_READY):
        validate(cmd)


def milestone_view(m: Milestone) -> MilestoneView:
    """A milestone as queries and the read model see it."""
    return MilestoneView(seq=m.seq, kind=m.kind, at=format_time(m.at), data=dict(m.data), prev=m.prev,
                         leaf=m.leaf)


class Recording(Protocol):
    """A workflow with a hash chain of milestones, of which the first ``persisted`` are stored."""

    milestones: list[Milestone]
    persisted: int


async def persist(owner: Recording, record_of: Callable[[list[MilestoneView]], Any], activity: Any,
                  stored: Callable[[], None] = lambda: None) -> None:
    """The one loop that writes a workflow's new milestones, in order, through ``activity``.

    Only this loop writes, so rows reach the read model in sequence order. ``record_of`` makes the
    activity's input from the new milestones; ``stored`` runs after each write.
    """
    while owner.persisted < len(owner.milestones):
        upto = len(owner.milestones)
        record = record_of([milestone_view(m) for m in owner.milestones[owner.persisted:upto]])
        await workflow.execute_activity_method(activity, record, start_to_close_timeout=DB_TIMEOUT,
                                               retry_policy=DB_RETRY)
        owner.persisted = upto
        stored()


async def send_alerts(alerts: list[Notification]) -> None:
    """Deliver queued alerts in order (each keyed for idempotency by subject and sequence number)."""
    while alerts:
        alert = alerts.pop(0)
        await workflow.execute_activity_method(Notifier.notify, alert, start_to_close_timeout=timedelta(seconds=30),
                                               retry_policy=NOTIFY_RETRY)


def monthly(*, day: int, hour: int, minute: int = 0) -> ScheduleSpec:
    """At ``hour:minute`` UTC on ``day`` of every month."""
    return ScheduleSpec(calendars=[ScheduleCalendarSpec(day_of_month=[ScheduleRange(day)], hour=[ScheduleRange(hour)],
                                                        minute=[ScheduleRange(minute)], second=[ScheduleRange(0)])])


def daily_at(hour: int) -> ScheduleSpec:
    """Every day at ``hour``:00:00 UTC."""
    return ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(0)],
                                                        second=[ScheduleRange(0)])])


def one_at_a_time(action: ScheduleActionStartWorkflow, spec: ScheduleSpec, catchup: timedelta) -> Schedule:
    """A schedule whose run still going makes the next skip, and whose run missed while the worker or
    the server was down still happens when they are back, within ``catchup``."""
    return Schedule(action=action, spec=spec,
                    policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup))


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the schedule once: a second worker, or the same one restarted, finds it there."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        pass
