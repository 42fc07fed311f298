"""The digital twin's engine: scenarios through the real ``TicketWorkflow`` on a time-skipping server.

Every scenario becomes a real ticket workflow run by a worker in this process, on a task queue of
its own, with the stand-in activities of ``activities/twin.py`` (nothing reaches the read model or
the chain). One driver walks the merged timeline of all scenarios: it skips the test server's clock
to the next instant something happens (the workflows' own SLA timers fire on the way, as in
production), then sends that instant's commands as the desk would, as Temporal Updates, to many
workflows at once. When every scenario is played, each workflow's state says what it breached and
what vouchers it issued.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.twin import TwinActivities
from analysis.twin import Scenario, Step
from domain.encoding import format_time, parse_time
from domain.ticket_views import opening_view
from domain.tickets import (
    ActorInput,
    ConfirmInput,
    PriorityInput,
    ResolveInput,
    RespondInput,
    TicketInput,
    TicketPolicy,
)
from workflows.ticket import TicketWorkflow

__all__ = ["Played", "TwinRun", "TwinStuck", "play"]

# An Update or a clock skip unanswered this long (wall time) means a run is stuck on the test
# server (see _clear_of_timers); the shard is then played again on a fresh server (cli/twin.py).
STUCK_AFTER = timedelta(minutes=2)


class TwinStuck(Exception):
    """A run of the twin stopped answering on the test server."""
# Commands are sent only when no timer of their ticket is due this soon (see _clear_of_timers).
TIMER_GUARD = timedelta(seconds=5)
TIMER_STEP = timedelta(milliseconds=50)
# Added to the latest the server's clock can be between reads (see _ServerClock), for the jitter
# of the two processes' clocks.
CLOCK_SLACK = timedelta(milliseconds=500)
# The clock is read again at least this often (wall time): between reads, an instant's commands
# land late by up to the wall time since the last read, as they did by a tick's when it was read
# on every tick.
CLOCK_REREAD = timedelta(seconds=1)
# A query waits for a workflow task; thousands at once on a busy worker take longer than the default.
QUERY_TIMEOUT = timedelta(minutes=5)


@dataclass
class Played:
    """What one scenario did under one policy, read from its workflow's state."""

    label: str
    scenario: Scenario
    breaches: list[str]
    voucher_minor: int
    used: dict[str, float]  # clock -> elapsed business seconds / target at the end
    refused: int = 0


@dataclass
class TwinRun:
    """Everything a run played: outcomes by policy label, and what the stand-ins were asked for."""

    played: list[Played]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _command(step: Step) -> tuple[str, Any]:
    actor = "twin"
    match step.action:
        case "respond":
            return "respond", RespondInput(actor=actor)
        case "wait":
            return "wait_for_customer", ActorInput(actor=actor, reason="twin")
        case "reply":
            return "customer_replied", ActorInput(actor=actor)
        case "priority":
            return "change_priority", PriorityInput(priority=step.value, actor=actor, reason="twin")
        case "resolve":
            return "resolve", ResolveInput(resolution_code="twin", root_cause="twin", actor=actor)
        case "reopen":
            return "reopen", ActorInput(actor=actor, reason="twin")
        case "confirm":
            return "confirm", ConfirmInput(rating=int(step.value or 5))
    raise ValueError(f"unknown step {step.action!r}")


async def play(env: WorkflowEnvironment, scenarios: Sequence[Scenario],
               policies: dict[str, Callable[[Scenario], TicketPolicy]], *, tick_seconds: float = 60.0,
               concurrency: int = 256, progress: Callable[[int, int], None] | None = None,
               start: datetime | None = None) -> TwinRun:
    """Plays every scenario under every policy (label -> the ticket policy of a scenario).

    Scenario times are rounded up to ``tick_seconds`` and counted from ``start`` (default: the
    server's next whole minute; a later instant makes runs on several servers share one timeline).
    ``progress(done, total)`` is called as scenarios finish (both counted over all policies).
    """
    loop = asyncio.get_running_loop()
    began = loop.time()
    client: Client = env.client
    stand_ins = TwinActivities()
    queue = f"twin-{uuid.uuid4()}"
    run_id = uuid.uuid4().hex[:8]
    total = len(scenarios) * len(policies)
    # When each (policy, scenario) ends, to report progress as the timeline passes it.
    timeline: dict[int, list[tuple[str, Scenario, Step | None]]] = defaultdict(list)
    ends: dict[int, int] = defaultdict(int)
    for label in policies:
        for s in scenarios:
            timeline[_tick(s.arrival, tick_seconds)].append((label, s, None))
            for step_ in s.steps:
                if step_.action == "confirm":
                    # The customer's confirmation ends the workflow and changes no clock: a closing
                    # Update on the test server also broke its history (seen with 100 tickets).
                    continue
                timeline[_tick(s.arrival + step_.at, tick_seconds)].append((label, s, step_))
            last = max((st.at for st in s.steps if st.action != "confirm"), default=0.0)
            ends[_tick(s.arrival + last, tick_seconds)] += 1
    handles: dict[tuple[str, str], WorkflowHandle[Any, Any]] = {}
    # Each ticket's state as its last command left it (a TicketView as plain JSON: decoding thousands
    # into dataclasses cost more than the run), and the instants its timers are due from then on.
    answers: dict[tuple[str, str], dict[str, Any]] = {}
    known: dict[tuple[str, str], list[datetime]] = {}
    # Commands still to send per ticket: after its last one, a settled ticket is ended (_settle).
    ended: set[tuple[str, str]] = set()
    pending = {(label, s.ticket_id): sum(st.action != "confirm" for st in s.steps) for label in policies
               for s in scenarios}
    levels = {level for of in policies.values() for s in scenarios[:1] for level in of(s).warning_levels}
    refused: dict[tuple[str, str], int] = defaultdict(int)
    gate = asyncio.Semaphore(concurrency)

    worker = Worker(client, task_queue=queue, workflows=[TicketWorkflow], activities=stand_ins.all(),
                    workflow_runner=UnsandboxedWorkflowRunner(), max_cached_workflows=total + 16,
                    max_concurrent_workflow_tasks=256, max_concurrent_activities=512,
                    # Activations run inline on this loop instead of hopping to a thread pool and back:
                    # the hop held the GIL longer than the activations (py-spy). Also no deadlock timer.
                    debug_mode=True)
    async with worker:
        clock = _ServerClock(env)
        now = await clock.read()
        if start is None:
            start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        elif start < now:
            raise ValueError(f"the twin's start {format_time(start)} is before the server's time {format_time(now)}")
        done = 0
        for tick in sorted(timeline):
            at = start + timedelta(seconds=tick)
            # The server's time is at least ``clock.earliest``, so this lands at ``at`` or a little
            # after, never before.
            if at > clock.earliest:
                await clock.skip(at - clock.earliest)
            per_ticket: dict[tuple[str, str], list[tuple[Scenario, Step | None]]] = defaultdict(list)
            for label, s, step in timeline[tick]:
                per_ticket[(label, s.ticket_id)].append((s, step))
            await _clear_of_timers(clock, [at for key in per_ticket for at in known.get(key, ())])

            async def drive(key: tuple[str, str], items: list[tuple[Scenario, Step | None]], at: datetime) -> None:
                label, _ = key
                async with gate:
                    for s, step in items:
                        if step is None:
                            ticket = _ticket(s, label, run_id, policies[label](s), at)
                            handles[key] = await client.start_workflow(
                                TicketWorkflow.run, ticket, id=ticket.ticket_id, task_queue=queue)
                            known[key] = _due_instants(asdict(opening_view(ticket, at)), levels)
                            continue
                        name, arg = _command(step)
                        try:
                            answers[key] = await asyncio.wait_for(
                                handles[key].execute_update(name, arg, result_type=dict), STUCK_AFTER.total_seconds())
                            known[key] = _due_instants(answers[key], levels)
                        except WorkflowUpdateFailedError:
                            refused[key] += 1  # e.g. a reopen after the new policy's window closed
                        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
                            # wait_for cancels the call, which the SDK reports as its own error.
                            raise TwinStuck(f"{handles[key].id}: {name} unanswered after {STUCK_AFTER}") from exc
                        pending[key] -= 1
                        if not pending[key] and _settled(answers.get(key), policies[label](s)):
                            await handles[key].terminate("twin: the scenario is played and its outcome read")
                            ended.add(key)

            drives = [asyncio.ensure_future(drive(key, items, at)) for key, items in per_ticket.items()]
            try:
                await asyncio.gather(*drives)
            except BaseException:
                for task in drives:  # one ticket stuck: the others of this instant go no further
                    task.cancel()
                raise
            if ends.get(tick) and progress is not None:  # only as scenarios end: a report may cost an IPC
                done += ends[tick]
                progress(done, total)
        if progress is not None:
            progress(total, total)
        played = await _read_all(handles, answers, scenarios, policies, refused, gate)
        # The rest end too: on a server that outlives the run (a test's), their timers would fire
        # with no worker left to take their tasks, and the server holds its clock until they are.
        await asyncio.gather(*(_terminate(handle, gate) for key, handle in handles.items() if key not in ended))
    return TwinRun(played=played, counts=dict(stand_ins.counts), seconds=loop.time() - began)


class _ServerClock:
    """The test server's time, read as seldom as possible: each read costs the server about as
    much as a skip. Since the last read it is at least that reading plus the skips since (time only
    moves forward, and a skip moves it by its whole duration), and at most that plus the wall time
    since the read as well: between skips, and after a skip's end, the clock runs at real pace,
    and a skip jumps to a timer's instant, never past the end of its own sleep."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self._env = env
        self._loop = asyncio.get_running_loop()
        self.earliest = datetime.min
        self._read_at = 0.0

    async def read(self) -> datetime:
        self._read_at = self._loop.time()
        self.earliest = await self._env.get_current_time()
        return self.earliest

    async def skip(self, duration: timedelta) -> None:
        await _skip(self._env.client, duration)
        self.earliest += duration

    def unread(self) -> timedelta:
        """Wall time since the last read."""
        return timedelta(seconds=self._loop.time() - self._read_at)

    def latest(self) -> datetime:
        return self.earliest + self.unread() + CLOCK_SLACK


async def _clear_of_timers(clock: _ServerClock, instants: list[datetime]) -> None:
    """Moves the clock past any of ``instants`` (the due timers of the tickets about to get a
    command) that is within ``TIMER_GUARD`` from now.

    An Update wakes the ticket's loop, whose task cancels its pending SLA timer. The time-skipping
    server strands a run whose task cancels a timer that fired while the task was with the worker
    ("invalid history builder state for action", temporalio/sdk-java#3088), and its clock runs at
    real pace between skips: a timer due a few milliseconds after the commands are sent fires while
    their tasks are with the worker. So the clock is moved past the close ones first.

    The server's time is only read when an instant is near the range it can be in, or a second
    after the last read: for most instants of the timeline neither holds, and the read is saved.

    The instants come from each ticket's opening and then from the answer to its last command: only
    a command changes them. A timer only fires one of the listed instants and adds none (the reopen
    window's end is listed from the resolve on), so a passed instant leaves the rest as they were.
    """
    low, high = clock.earliest - TIMER_GUARD / 10, clock.latest() + TIMER_GUARD
    if clock.unread() < CLOCK_REREAD and not any(low < at <= high for at in instants):
        return
    for _ in range(20):
        now = await clock.read()
        close = [at for at in instants if now - TIMER_GUARD / 10 < at <= now + TIMER_GUARD]
        if not close:
            break
        await clock.skip(max(close) - now + TIMER_STEP)


def _due_instants(view: dict[str, Any], levels: set[int]) -> list[datetime]:
    """The instants a ticket's timers are due, from its state as plain JSON (a ``TicketView``)."""
    found = []
    for clock in view["clocks"]:
        if clock["running"] and clock["deadline"]:
            deadline = parse_time(clock["deadline"])
            found.append(deadline)
            found += [deadline - timedelta(seconds=clock["target_seconds"] * (1 - level / 100)) for level in levels]
    found += [parse_time(at) for at in (view.get("auto_close_at"), view.get("reopen_until")) if at]
    return found


async def _skip(client: Client, duration: timedelta) -> None:
    """``env.sleep`` with room to wait: the server answers once the work the skip set off is done,
    which for thousands of tickets opening at once takes longer than the default RPC timeout."""
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    try:
        await client.test_service.unlock_time_skipping_with_sleep(request, timeout=STUCK_AFTER)
    except RPCError as exc:
        # The core reports its own timeout as CANCELLED ("Timeout expired"), a server's as the deadline.
        if exc.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise
        raise TwinStuck(f"a skip of {duration} unanswered after {STUCK_AFTER}") from exc


def _tick(seconds: float, tick: float) -> int:
    return int(-(-seconds // tick) * tick)


def _ticket(s: Scenario, label: str, run_id: str, policy: TicketPolicy, at: datetime) -> TicketInput:
    return TicketInput(ticket_id=f"{run_id}-{label}-{s.ticket_id}", customer_ref_hash="twin", channel=s.channel,
                       category=s.category, priority=s.priority, team=s.team, summary="", description="",
                       policy=policy, compensate=True, opened_at=format_time(at))


async def _read_all(handles: dict[tuple[str, str], WorkflowHandle[Any, Any]],
                    answers: dict[tuple[str, str], dict[str, Any]], scenarios: Sequence[Scenario],
                    policies: dict[str, Callable[[Scenario], TicketPolicy]], refused: dict[tuple[str, str], int],
                    gate: asyncio.Semaphore) -> list[Played]:
    """Each scenario's outcome. A scenario's last command usually resolves its ticket, which stops
    every clock: then the answer to it is the final state, except for vouchers, which follow
    breaches in tasks of their own (a ticket still owed one is asked again until it has landed).
    A ticket with a clock still running is asked for its state at the end of the timeline."""

    async def read(label: str, s: Scenario) -> Played:
        key = (label, s.ticket_id)
        policy = policies[label](s)
        view = answers.get(key)
        if view is None or not _settled(view, policy):
            for _ in range(200):
                async with gate:
                    view = await handles[key].query("state", rpc_timeout=QUERY_TIMEOUT, result_type=dict)
                if _vouchers_landed(view, policy):
                    break
                await asyncio.sleep(0.05)
        assert view is not None
        used = {c["name"]: (c["elapsed_seconds"] / c["target_seconds"] if c["target_seconds"] else 0.0)
                for c in view["clocks"]}
        return Played(label=label, scenario=s, breaches=list(view["breaches"]),
                      voucher_minor=sum(int(v["amount"]) for v in view["vouchers"]), used=used,
                      refused=refused.get(key, 0))

    return list(await asyncio.gather(*(read(label, s) for label in policies for s in scenarios)))


def _settled(view: dict[str, Any] | None, policy: TicketPolicy) -> bool:
    """Whether a ticket's state is its outcome: no clock running (so no breach to come) and every
    voucher its breaches are owed issued (they follow breaches in tasks of their own).

    A ticket whose last command leaves it settled is ended there: played on, it would only
    auto-close and end its reopen window, which change nothing the twin reports, and each of
    those is a timer, a workflow task and a write."""
    return view is not None and not any(c["running"] for c in view["clocks"]) and _vouchers_landed(view, policy)


def _vouchers_landed(view: dict[str, Any], policy: TicketPolicy) -> bool:
    owed = sum(1 for b in view["breaches"] if any(policy.compensation.get(b, {}).values()))
    return len(view["vouchers"]) >= owed


async def _terminate(handle: WorkflowHandle[Any, Any], gate: asyncio.Semaphore) -> None:
    async with gate:
        try:
            await handle.terminate("twin run finished")
        except RPCError:
            pass  # already finished
