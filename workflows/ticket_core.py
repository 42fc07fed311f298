"""The state of a ticket workflow and what every part of it uses: clocks, milestones, the state query.

:py:class:`workflows.ticket.TicketWorkflow` adds the run loop, compensation and the commands. The
split is only for size: both are one workflow type and one history.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

from workflows.names import REPORT_INCIDENT_SIGNAL, TICKET_STATUS, ticket_search_attributes
from workflows.support import DB_RETRY, DB_TIMEOUT, milestone_view, persist, refuse

with workflow.unsafe.imports_passed_through():
    from activities.tickets import TicketActivities
    from domain.encoding import parse_time
    from domain.governance import DeductionInput
    from domain.milestones import Milestone, MilestoneKind, format_time, new_milestone
    from domain.sla_clock import RESOLUTION, SlaClock
    from domain.ticket_views import clock_view, target_seconds
    from domain.tickets import (
        FINAL_STATUSES,
        Notification,
        RecordTicketInput,
        RepeatQuery,
        TicketInput,
        TicketStatus,
        TicketView,
        VoucherView,
    )

S = TicketStatus
# Patch id: the workflow upserts its search attributes (see _publish_search_attributes).
SEARCH_ATTRIBUTES_PATCH = "ticket-search-attributes"


class TicketCore:
    """A ticket's state, clocks and milestone chain; see :py:mod:`workflows.ticket`."""

    @workflow.init
    def __init__(self, input: TicketInput) -> None:
        self.input = input
        self.policy = input.policy
        self.status = S.OPEN
        self.priority = input.priority
        self.team = input.team
        self.assignee: str | None = None
        self.created_at = parse_time(input.opened_at) if input.opened_at else workflow.now()
        self.milestones: list[Milestone] = []
        self.persisted = 0
        self.clocks: dict[str, SlaClock] = {}
        self.breaches: list[str] = []
        self.repeat_of: str | None = None
        self.rating: int | None = None
        self.resolution_code: str | None = None
        self.root_cause: str | None = None
        self.resolved_at: datetime | None = None
        self.confirmed = False
        self.token_version = 1
        self.vouchers: list[VoucherView] = []
        self.wake = False
        self.ready = False  # opened and repeat-checked: commands wait so the chain starts in order
        self.alerts: list[Notification] = []
        self.incidents: list[DeductionInput] = []  # supplier-caused breaches to report
        self.compensations: list[asyncio.Task[None]] = []


    # ---------------------------------------------------------------- helpers

    def _target(self, clock: str) -> float:
        return target_seconds(self.policy, self.priority, clock)

    def _add(self, kind: str, data: dict[str, str] | None = None, at: datetime | None = None) -> Milestone:
        previous = self.milestones[-1] if self.milestones else None
        m = new_milestone(self.input.ticket_id, previous, kind, at or workflow.now(), data)
        self.milestones.append(m)
        self.wake = True
        return m

    def _queue_alert(self, m: Milestone, message: str, recipient: str | None = None) -> None:
        self.alerts.append(Notification(
            idempotency_key=f"{self.input.ticket_id}:{m.seq}",
            recipient=recipient or self.policy.department_head,
            subject_id=self.input.ticket_id, kind=m.kind, message=message,
            details={k: v for k, v in m.data.items() if k != "customer_ref_hash"},
        ))

    async def _report_incidents(self) -> None:
        """A breach on a supplier's ticket is a deduction in the supplier's workflow (id = supplier)."""
        while self.incidents:
            incident = self.incidents.pop(0)
            handle = workflow.get_external_workflow_handle(self.input.supplier or "")
            try:
                await handle.signal(REPORT_INCIDENT_SIGNAL, incident)
            except Exception as exc:  # noqa: BLE001 - an unknown supplier must not stop the ticket
                workflow.logger.warning("supplier %s not told of %s: %s", self.input.supplier,
                                        incident.incident_id, exc)

    async def _persist(self) -> None:
        await persist(self, lambda views: RecordTicketInput(
            ticket_id=self.input.ticket_id, snapshot=self._view_at(milestones=False),
            customer_ref_hash=self._match_key(),
            summary=self.input.summary, description=self.input.description, milestones=views),
            TicketActivities.record_ticket)
        self._publish_search_attributes()

    def _publish_search_attributes(self) -> None:
        """Keep the Temporal UI's ticket filters current: only those that changed, and only on a
        ticket started with them (the API sets them where the namespace has them registered; an
        unregistered one would fail every workflow task). Histories recorded before this replay
        without it (the patch)."""
        current = workflow.info().typed_search_attributes
        if current.get(TICKET_STATUS) is None:
            return
        wanted = ticket_search_attributes(status=self.status.value, priority=self.priority, team=self.team,
                                          breached=bool(self.breaches))
        changed = [pair.key.value_set(pair.value) for pair in wanted if current.get(pair.key) != pair.value]
        if changed and workflow.patched(SEARCH_ATTRIBUTES_PATCH):
            workflow.upsert_search_attributes(changed)

    async def _persisted(self, m: Milestone) -> None:
        """Update handlers return only once their milestone is in the read model."""
        await workflow.wait_condition(lambda: self.persisted > m.seq)

    async def _check_repeat(self) -> None:
        query = RepeatQuery(
            ticket_id=self.input.ticket_id, customer_ref_hash=self._match_key(),
            category=self.input.category, opened_at=format_time(self.created_at),
            window_seconds=self.policy.repeat_complaint_seconds)
        previous = await workflow.execute_activity_method(
            TicketActivities.find_repeat_complaint, query, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        if previous:
            self.repeat_of = previous
            m = self._add(MilestoneKind.REPEAT_FLAGGED, {"previous_ticket": previous})
            self._queue_alert(m, f"Repeat complaint: same customer and category as {previous}")

    def _match_key(self) -> str:
        # The read model matches repeat complaints on this key; the public per-ticket hash would never
        # match. A ticket started before the split has only the old hash, which was the match key.
        return self.input.customer_match_hash or self.input.customer_ref_hash

    def _reopen_until(self) -> datetime | None:
        if self.resolved_at is None:
            return None
        return self.resolved_at + timedelta(seconds=self.policy.reopen_window_seconds)

    def _retarget(self) -> None:
        # A stopped clock's outcome is settled: a later priority change does not rewrite history.
        for name, clock in self.clocks.items():
            if not clock.stopped:
                clock.retarget(self._target(name))

    def _stop_clocks(self) -> None:
        now = workflow.now()
        for clock in self.clocks.values():
            clock.stop(self.policy.calendar, now)

    def _set_status(self, status: TicketStatus) -> None:
        """Moves the ticket and pauses or resumes the resolution clock as the policy says."""
        now = workflow.now()
        cal = self.policy.calendar
        clock = self.clocks[RESOLUTION]
        was_paused = self.status.value in self.policy.pause_statuses
        self.status = status
        if status.value in self.policy.pause_statuses and not was_paused:
            clock.pause(cal, now)
        elif was_paused and status.value not in self.policy.pause_statuses and status not in FINAL_STATUSES \
                and status != S.RESOLVED:
            clock.resume(cal, now)

    # ---------------------------------------------------------------- queries

    @workflow.query
    def state(self, as_of: str = "") -> TicketView:
        """The full state. ``as_of`` (ISO time) lets a caller see clocks at its own present:
        workflow.now() inside a query is the time of the last workflow task, which may be old."""
        return self._view_at(as_of)

    def _view_at(self, as_of: str = "", *, milestones: bool = True) -> TicketView:
        # Without the milestone list for the read model: it gets the new milestones on their own,
        # and a full list on every write made each write cost grow with the ticket's length.
        now = workflow.now()
        if as_of:
            now = max(now, parse_time(as_of))
        clocks = [clock_view(clock, self.policy, now) for clock in self.clocks.values()]
        auto_close = None
        if self.status == S.RESOLVED and self.resolved_at is not None:
            auto_close = format_time(self.resolved_at + timedelta(seconds=self.policy.auto_close_seconds))
        until = self._reopen_until()
        return TicketView(
            ticket_id=self.input.ticket_id, status=self.status.value, priority=self.priority,
            category=self.input.category, team=self.team, channel=self.input.channel,
            supplier=self.input.supplier, assignee=self.assignee, created_at=format_time(self.created_at),
            clocks=clocks, milestones=[milestone_view(m) for m in self.milestones] if milestones else [],
            breaches=list(self.breaches),
            repeat_of=self.repeat_of, rating=self.rating, resolution_code=self.resolution_code,
            root_cause=self.root_cause, request_hash=self.input.request_hash,
            token_version=self.token_version, vouchers=list(self.vouchers), auto_close_at=auto_close,
            reopen_until=format_time(until) if until and self.status in (S.RESOLVED, S.CLOSED) else None)

    def _require_active(self) -> None:
        if self.status in FINAL_STATUSES:
            refuse(f"ticket is {self.status.value}")

