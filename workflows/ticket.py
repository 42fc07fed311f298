"""TicketWorkflow: one durable workflow per customer-service ticket (workflow id = ticket id).

State changes arrive as Updates whose validators reject invalid transitions before anything is
written to history. SLA clocks (domain/sla_clock.py) decide when warnings and breaches are due; this
workflow only sleeps until the next due instant, so every warning and breach fires exactly once,
also across worker restarts and replays. Every change becomes a hash-chained milestone that a single
loop persists through an activity, so writes to the read model happen in order.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.names import LINK_MEETING_SIGNAL, TICKET_WORKFLOW
from workflows.support import ready_for, refuse, send_alerts

with workflow.unsafe.imports_passed_through():
    from activities.compensation import CompensationActivities
    from domain.governance import DeductionInput, MeetingTicketLink
    from domain.milestones import Milestone, MilestoneKind, format_time
    from domain.sla_clock import FIRST_RESPONSE, RESOLUTION
    from domain.ticket_views import opened_data, opening_clocks
    from domain.tickets import (
        ActorInput,
        AnchorWait,
        AssignInput,
        ConfirmInput,
        EscalateInput,
        NoteInput,
        PolicyInput,
        PriorityInput,
        ResolveInput,
        RespondInput,
        RevokeTokenInput,
        TicketInput,
        TicketView,
        VoucherRequest,
        VoucherView,
    )
from workflows.ticket_core import S, TicketCore

CHAIN_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.5,
                          maximum_interval=timedelta(seconds=20))

# Patch id: the loop fires SLA events at the instant their timer was due (see run()).
SLA_EVENTS_AT_TIMER = "sla-events-at-timer-time"


@workflow.defn(name=TICKET_WORKFLOW)
class TicketWorkflow(TicketCore):
    # ---------------------------------------------------------------- run loop

    @workflow.run
    async def run(self, input: TicketInput) -> TicketView:
        # Opened at created_at (the desk's clock, or this first task's time for older tickets).
        self.clocks.update(opening_clocks(self.policy, self.priority, self.created_at))
        self._add(MilestoneKind.OPENED, opened_data(input), self.created_at)
        await self._persist()
        await self._check_repeat()
        self.ready = True

        due_at: datetime | None = None  # set when the SLA timer woke the loop
        while not self._finished():
            self._fire_due_events(due_at or workflow.now())
            await self._persist()
            await send_alerts(self.alerts)
            await self._report_incidents()
            if self._finished():
                break
            wake_at = self._next_wake_at()
            timeout = max(wake_at - workflow.now(), timedelta(milliseconds=1)) if wake_at else None
            due_at = None
            try:
                await workflow.wait_condition(lambda: self.wake, timeout=timeout)
            except TimeoutError:
                # Evaluate the clocks at the instant the timer was due, not at the task's time: a
                # worker that resumed a cached run after a Temporal restart was seen to get a stale
                # workflow.now() there, while replay got the true one, so events fired differently.
                if workflow.patched(SLA_EVENTS_AT_TIMER):
                    due_at = wake_at
            self.wake = False

        await self._persist()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.compensations:
            await asyncio.gather(*self.compensations)
        await self._persist()
        return self.state()

    def _finished(self) -> bool:
        if self.status == S.CANCELLED or (self.status == S.CLOSED and self.confirmed):
            return self.persisted == len(self.milestones)
        if self.status == S.CLOSED:
            # Auto-closed: the customer may still reopen until the window ends.
            until = self._reopen_until()
            return until is not None and workflow.now() >= until and self.persisted == len(self.milestones)
        return False

    def _next_wake_at(self) -> datetime | None:
        candidates: list[datetime] = []
        cal = self.policy.calendar
        for clock in self.clocks.values():
            at = clock.next_event_at(cal, self.policy.warning_levels)
            if at is not None:
                candidates.append(at)
        if self.status == S.RESOLVED and self.resolved_at is not None:
            candidates.append(self.resolved_at + timedelta(seconds=self.policy.auto_close_seconds))
        if self.status == S.CLOSED and not self.confirmed:
            until = self._reopen_until()
            if until is not None:
                candidates.append(until)
        return min(candidates) if candidates else None

    def _fire_due_events(self, now: datetime) -> None:
        """Fire every SLA event and auto-close due at ``now``, stamped at ``now`` (never before the last milestone)."""
        cal = self.policy.calendar
        at = max(now, self.milestones[-1].at) if self.milestones else now
        for name, clock in self.clocks.items():
            for key in clock.due_events(cal, now, self.policy.warning_levels):
                clock.mark_fired(key)
                if key == "breach":
                    self.breaches.append(name)
                    m = self._add(MilestoneKind.SLA_BREACH, {"clock": name,
                                                              "target_seconds": f"{clock.target_seconds:g}"}, at)
                    self._queue_alert(m, f"SLA breach: {name} target missed")
                    if self.input.supplier:
                        self.incidents.append(DeductionInput(incident_id=f"{self.input.ticket_id}:{name}",
                                                             severity=self.policy.supplier_breach_severity,
                                                             ticket_id=self.input.ticket_id))
                    if self.input.compensate and name in self.policy.compensation:
                        self.compensations.append(asyncio.create_task(self._compensate_or_alert(name, m)))
                else:
                    level = key.split(":", 1)[1]
                    m = self._add(MilestoneKind.SLA_WARNING, {"clock": name, "level": level}, at)
                    self._queue_alert(m, f"SLA warning: {name} at {level}% of its target")
        if (self.status == S.RESOLVED and self.resolved_at is not None
                and now >= self.resolved_at + timedelta(seconds=self.policy.auto_close_seconds)):
            self.status = S.CLOSED
            self._add(MilestoneKind.AUTO_CLOSED, {}, at)

    # ---------------------------------------------------------------- compensation

    async def _compensate_or_alert(self, breach: str, m: Milestone) -> None:
        # Retryable chain errors retry without end; a refusal (e.g. a paused contract) must not fail
        # the ticket: the department head is told so a person can compensate by hand.
        try:
            await self._compensate(breach, m)
        except ActivityError as exc:
            alert = self._add(MilestoneKind.VOUCHER_FAILED, {"breach": breach, "breach_leaf": m.leaf})
            self._queue_alert(alert, f"Voucher for the {breach} breach could not be issued: {exc.cause or exc}")

    async def _compensate(self, breach: str, m: Milestone) -> None:
        """Waits for the breach leaf to be anchored, then has the contract issue one voucher."""
        await self._persisted(m)
        anchored = await workflow.execute_activity_method(
            CompensationActivities.wait_for_anchor, AnchorWait(leaf=m.leaf),
            start_to_close_timeout=timedelta(seconds=60), heartbeat_timeout=timedelta(seconds=15),
            retry_policy=CHAIN_RETRY)
        amount = self.policy.compensation[breach].get(self.priority, 0)
        if amount <= 0:
            return
        expires = int((workflow.now() + timedelta(seconds=self.policy.voucher_valid_seconds)).timestamp())
        request = VoucherRequest(
            ticket_id=self.input.ticket_id, breach=breach,
            claim_id=f"{self.input.ticket_id}:{breach}", customer_ref_hash=self.input.customer_ref_hash,
            amount=amount, expires_at=expires, leaf=anchored.leaf)
        result = await workflow.execute_activity_method(
            CompensationActivities.issue_voucher, request, start_to_close_timeout=timedelta(seconds=120),
            heartbeat_timeout=timedelta(seconds=15), retry_policy=CHAIN_RETRY)
        self.vouchers.append(VoucherView(breach=breach, claim_id=request.claim_id,
                                         voucher_id=result.voucher_id, amount=amount, tx_hash=result.tx_hash))
        self._add(MilestoneKind.VOUCHER_ISSUED, {
            "breach": breach, "voucher_id": str(result.voucher_id), "amount": str(amount),
            "tx_hash": result.tx_hash, "breach_leaf": m.leaf})

    # ---------------------------------------------------------------- signals

    @workflow.signal(name=LINK_MEETING_SIGNAL)
    async def link_meeting(self, link: MeetingTicketLink) -> None:
        """A joint meeting linked this ticket or delivered its solution (sent by JointMeetingWorkflow)."""
        await workflow.wait_condition(lambda: self.ready)
        kind = MilestoneKind.MEETING_SOLUTION if link.kind == "solution" else MilestoneKind.MEETING_LINKED
        self._add(kind, {"meeting_id": link.meeting_id, "meeting_leaf": link.meeting_leaf,
                         "root_cause": link.root_cause, "actions": str(link.actions)})

    # ---------------------------------------------------------------- updates

    @workflow.update
    async def assign(self, cmd: AssignInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_assign, cmd)
        self.assignee = cmd.assignee
        if self.status == S.ACKNOWLEDGED:
            self._set_status(S.IN_PROGRESS)
        m = self._add(MilestoneKind.ASSIGNED, {"assignee": cmd.assignee, "actor": cmd.actor})
        await self._persisted(m)
        return self.state()

    @assign.validator
    def _validate_assign(self, cmd: AssignInput) -> None:
        self._require_active()
        if self.status == S.RESOLVED:
            refuse("ticket is resolved; reopen it before assigning")
        if not cmd.assignee.strip():
            refuse("assignee must not be empty")

    @workflow.update
    async def respond(self, cmd: RespondInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_respond, cmd)
        self.clocks[FIRST_RESPONSE].stop(self.policy.calendar, workflow.now())
        self._set_status(S.ACKNOWLEDGED)
        m = self._add(MilestoneKind.FIRST_RESPONSE, {"actor": cmd.actor, "text_hash": cmd.text_hash})
        await self._persisted(m)
        return self.state()

    @respond.validator
    def _validate_respond(self, cmd: RespondInput) -> None:
        if self.status != S.OPEN:
            refuse(f"first response already given; ticket is {self.status.value} (add a note instead)")

    @workflow.update
    async def add_note(self, cmd: NoteInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_note, cmd)
        if self.status == S.ACKNOWLEDGED:
            self._set_status(S.IN_PROGRESS)
        m = self._add(MilestoneKind.NOTE_ADDED, {"actor": cmd.actor, "text_hash": cmd.text_hash})
        await self._persisted(m)
        return self.state()

    @add_note.validator
    def _validate_note(self, cmd: NoteInput) -> None:
        self._require_active()

    @workflow.update
    async def wait_for_customer(self, cmd: ActorInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_wait, cmd)
        self._set_status(S.WAITING_ON_CUSTOMER)
        m = self._add(MilestoneKind.PAUSED, {"actor": cmd.actor, "reason": cmd.reason})
        await self._persisted(m)
        return self.state()

    @wait_for_customer.validator
    def _validate_wait(self, cmd: ActorInput) -> None:
        if self.status not in (S.ACKNOWLEDGED, S.IN_PROGRESS):
            refuse("can only wait for the customer when acknowledged or in progress, "
                    f"not {self.status.value}")

    @workflow.update
    async def customer_replied(self, cmd: ActorInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_replied, cmd)
        self._set_status(S.IN_PROGRESS)
        m = self._add(MilestoneKind.RESUMED, {"actor": cmd.actor})
        await self._persisted(m)
        return self.state()

    @customer_replied.validator
    def _validate_replied(self, cmd: ActorInput) -> None:
        if self.status != S.WAITING_ON_CUSTOMER:
            refuse(f"ticket is not waiting on the customer (it is {self.status.value})")

    @workflow.update
    async def change_priority(self, cmd: PriorityInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_priority, cmd)
        old = self.priority
        self.priority = cmd.priority
        self._retarget()
        m = self._add(MilestoneKind.PRIORITY_CHANGED,
                      {"from": old, "to": cmd.priority, "actor": cmd.actor, "reason": cmd.reason})
        await self._persisted(m)
        return self.state()

    @change_priority.validator
    def _validate_priority(self, cmd: PriorityInput) -> None:
        self._require_active()
        if cmd.priority not in self.policy.targets:
            refuse(f"unknown priority {cmd.priority!r}; known: {sorted(self.policy.targets)}")
        if cmd.priority == self.priority:
            refuse(f"priority is already {cmd.priority}")

    @workflow.update
    async def apply_policy(self, cmd: PolicyInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_policy, cmd)
        # Keep the ticket's own department head: the caller sends policy numbers, not routing.
        self.policy = replace(cmd.policy, department_head=self.policy.department_head)
        self._retarget()
        m = self._add(MilestoneKind.POLICY_CHANGED, {"actor": cmd.actor})
        await self._persisted(m)
        return self.state()

    @apply_policy.validator
    def _validate_policy(self, cmd: PolicyInput) -> None:
        self._require_active()
        if self.priority not in cmd.policy.targets:
            refuse(f"new policy has no targets for priority {self.priority}")

    @workflow.update
    async def resolve(self, cmd: ResolveInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_resolve, cmd)
        now = workflow.now()
        if self.status == S.OPEN:
            # Resolving on first contact is also the first response.
            self.clocks[FIRST_RESPONSE].stop(self.policy.calendar, now)
        self.clocks[RESOLUTION].stop(self.policy.calendar, now)
        self.status = S.RESOLVED
        self.resolved_at = now
        self.resolution_code = cmd.resolution_code
        self.root_cause = cmd.root_cause
        m = self._add(MilestoneKind.RESOLVED, {"resolution_code": cmd.resolution_code,
                                               "root_cause": cmd.root_cause, "actor": cmd.actor})
        await self._persisted(m)
        return self.state()

    @resolve.validator
    def _validate_resolve(self, cmd: ResolveInput) -> None:
        if self.status not in (S.OPEN, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_ON_CUSTOMER):
            refuse(f"cannot resolve a ticket that is {self.status.value}")
        if not cmd.resolution_code.strip() or not cmd.root_cause.strip():
            refuse("resolution_code and root_cause are required")

    @workflow.update
    async def confirm(self, cmd: ConfirmInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_confirm, cmd)
        self.rating = cmd.rating
        self.confirmed = True
        self.status = S.CLOSED
        data = {"rating": str(cmd.rating)}
        if cmd.comment_hash:
            data["comment_hash"] = cmd.comment_hash
        m = self._add(MilestoneKind.CONFIRMED, data)
        await self._persisted(m)
        return self.state()

    @confirm.validator
    def _validate_confirm(self, cmd: ConfirmInput) -> None:
        if self.status != S.RESOLVED:
            refuse(f"only a resolved ticket can be confirmed; ticket is {self.status.value}")
        if not 1 <= cmd.rating <= 5:
            refuse("rating must be between 1 and 5")

    @workflow.update
    async def reopen(self, cmd: ActorInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_reopen, cmd)
        # The time between resolution and reopen is not counted: restart, not resume.
        self.clocks[RESOLUTION].restart(workflow.now())
        self.status = S.IN_PROGRESS
        self.resolved_at = None
        m = self._add(MilestoneKind.REOPENED, {"actor": cmd.actor, "reason": cmd.reason})
        await self._persisted(m)
        return self.state()

    @reopen.validator
    def _validate_reopen(self, cmd: ActorInput) -> None:
        if self.status == S.CLOSED and self.confirmed:
            refuse("the customer confirmed the resolution; open a new ticket")
        if self.status not in (S.RESOLVED, S.CLOSED):
            refuse(f"only a resolved ticket can be reopened; ticket is {self.status.value}")
        until = self._reopen_until()
        if until is not None and workflow.now() > until:
            refuse(f"the reopen window ended at {format_time(until)}")

    @workflow.update
    async def cancel(self, cmd: ActorInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_cancel, cmd)
        self._stop_clocks()
        self.status = S.CANCELLED
        m = self._add(MilestoneKind.CANCELLED, {"actor": cmd.actor, "reason": cmd.reason})
        await self._persisted(m)
        return self.state()

    @cancel.validator
    def _validate_cancel(self, cmd: ActorInput) -> None:
        self._require_active()
        if cmd.reason not in ("duplicate", "spam"):
            refuse("reason must be 'duplicate' or 'spam'")

    @workflow.update
    async def escalate(self, cmd: EscalateInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_escalate, cmd)
        old = self.team
        self.team = cmd.to_team
        if cmd.department_head:
            self.policy = replace(self.policy, department_head=cmd.department_head)
        m = self._add(MilestoneKind.ESCALATED, {"from": old, "to": cmd.to_team, "actor": cmd.actor,
                                                "reason": cmd.reason})
        self._queue_alert(m, f"Ticket escalated from {old} to {cmd.to_team}: {cmd.reason}")
        await self._persisted(m)
        return self.state()

    @escalate.validator
    def _validate_escalate(self, cmd: EscalateInput) -> None:
        self._require_active()
        if not cmd.to_team.strip():
            refuse("to_team must not be empty")
        if cmd.to_team == self.team:
            refuse(f"ticket is already with {cmd.to_team}")

    @workflow.update
    async def revoke_customer_token(self, cmd: RevokeTokenInput) -> TicketView:
        await ready_for(lambda: self.ready, self._validate_revoke, cmd)
        self.token_version += 1
        m = self._add(MilestoneKind.TOKEN_REVOKED, {"actor": cmd.actor})
        await self._persisted(m)
        return self.state()

    @revoke_customer_token.validator
    def _validate_revoke(self, cmd: RevokeTokenInput) -> None:
        self._require_active()

