"""SupplierWorkflow (供应商连带责任制): one long-running workflow per supplier (workflow id = supplier id).

It keeps the running total of deductions (domain rule 10). A deduction is idempotent on its incident
id: the workflow remembers every incident id (carried across continue-as-new) and the read model
has a unique constraint on it. When the total is strictly greater than the policy's share of the
contract value the exit process starts, once per supplier: exit notice, an appeal window in business
days, the committee's decision on an appeal, then exit (no new tickets; open tickets listed and
reassigned) and a termination milestone. Deductions after the exit started are still recorded.

The workflow never completes: it continues as new after ``history_limit`` milestones (or when the
server suggests it), carrying the total, the incident ids, the exit state and the chain tip, so the
hash chain of the supplier runs on unbroken across runs.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.names import REPORT_INCIDENT_SIGNAL, SUPPLIER_WORKFLOW
from workflows.support import DB_RETRY, DB_TIMEOUT, milestone_view, persist, ready_for, refuse, send_alerts

with workflow.unsafe.imports_passed_through():
    from activities.governance import GovernanceActivities
    from domain.encoding import parse_time
    from domain.governance import (
        EXIT_STATUSES,
        AppealDecisionInput,
        AppealInput,
        ChainTip,
        DeductionInput,
        DeductionResult,
        DeductionView,
        GovernanceKind,
        OpenTicketsQuery,
        ReassignInput,
        RecordSupplierInput,
        SupplierCarry,
        SupplierInput,
        SupplierStatus,
        SupplierView,
        add_business_days,
        deduction_amount,
        exceeds_threshold,
        threshold_amount,
    )
    from domain.milestones import Milestone, format_time, new_milestone
    from domain.tickets import MilestoneView, Notification

K = GovernanceKind
S = SupplierStatus

RECENT = 20


@workflow.defn(name=SUPPLIER_WORKFLOW)
class SupplierWorkflow:
    @workflow.init
    def __init__(self, input: SupplierInput) -> None:
        self.input = input
        self.policy = input.policy
        c = input.carry or SupplierCarry(total=0, incident_ids=[], status=S.ACTIVE.value, tip=None,
                                         deduction_count=0)
        self.total = c.total
        self.incident_ids: set[str] = set(c.incident_ids)
        self.status = S(c.status)
        self.tip = c.tip
        self.deduction_count = c.deduction_count
        self.exit_started_at = c.exit_started_at
        self.appeal_due = c.appeal_due
        self.appeal_reason = c.appeal_reason
        self.decision = c.decision
        self.open_tickets = list(c.open_tickets)
        self.reassigned = dict(c.reassigned)
        self.runs = c.runs
        self.recent = list(c.recent)
        self.listed = c.listed
        self.listing_due = self.status == S.EXITED and not self.listed
        self.milestones: list[Milestone] = []
        self.persisted = 0
        self.unsaved: list[DeductionView] = []
        self.alerts: list[Notification] = []
        self.wake = False
        self.ready = False

    # ---------------------------------------------------------------- run loop

    @workflow.run
    async def run(self, input: SupplierInput) -> SupplierView:
        if input.carry is None:
            self._add(K.SUPPLIER_REGISTERED, {
                "name": input.name, "contract_value": str(input.contract_value), "currency": input.currency,
                "threshold_percent": f"{self.policy.exit_threshold_percent:g}", "opened_by": input.opened_by})
        else:
            self._add(K.HISTORY_CONTINUED, {"run": str(self.runs), "total": str(self.total),
                                            "incidents": str(len(self.incident_ids))})
        await self._persist()
        self.ready = True

        while True:
            self._fire_due_events()
            await self._persist()
            await send_alerts(self.alerts)
            if self.listing_due:
                await self._list_open_tickets()
                continue
            if self._history_full():
                break
            try:
                await workflow.wait_condition(lambda: self.wake, timeout=self._next_wake())
            except TimeoutError:
                pass
            self.wake = False

        # Continue as new only with every accepted update finished and every milestone stored.
        while not (workflow.all_handlers_finished() and self.persisted == len(self.milestones)
                   and not self.alerts):
            await workflow.wait_condition(lambda: workflow.all_handlers_finished()
                                          or self.persisted < len(self.milestones) or bool(self.alerts))
            await self._persist()
            await send_alerts(self.alerts)
        workflow.continue_as_new(SupplierInput(
            supplier_id=input.supplier_id, name=input.name, contract_value=input.contract_value,
            currency=input.currency, policy=self.policy, opened_by=input.opened_by, carry=self._carry()))

    def _history_full(self) -> bool:
        return (len(self.milestones) >= self.policy.history_limit
                or workflow.info().is_continue_as_new_suggested())

    def _carry(self) -> SupplierCarry:
        return SupplierCarry(
            total=self.total, incident_ids=sorted(self.incident_ids), status=self.status.value,
            tip=self.tip, deduction_count=self.deduction_count, exit_started_at=self.exit_started_at,
            appeal_due=self.appeal_due, appeal_reason=self.appeal_reason, decision=self.decision,
            open_tickets=list(self.open_tickets), reassigned=dict(self.reassigned), runs=self.runs + 1,
            recent=list(self.recent), listed=self.listed)

    def _next_wake(self) -> timedelta | None:
        if self.status == S.EXIT_NOTICE and self.appeal_due:
            return max(parse_time(self.appeal_due) - workflow.now(), timedelta(milliseconds=1))
        return None

    def _fire_due_events(self) -> None:
        if self.status == S.EXIT_NOTICE and self.appeal_due and workflow.now() >= parse_time(self.appeal_due):
            self._confirm_exit("appeal window ended without an appeal")

    def _confirm_exit(self, reason: str) -> None:
        self.status = S.EXITED
        self.listing_due = True
        m = self._add(K.EXIT_CONFIRMED, {"reason": reason, "total": str(self.total)})
        self._queue_alert(m, f"Supplier {self.input.supplier_id} exited: {reason}")

    async def _list_open_tickets(self) -> None:
        tickets = await workflow.execute_activity_method(
            GovernanceActivities.list_supplier_open_tickets, OpenTicketsQuery(self.input.supplier_id),
            start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY)
        self.listing_due = False
        self.listed = True
        self.open_tickets = sorted(tickets)
        self._add(K.OPEN_TICKETS_LISTED, {"count": str(len(tickets)), "tickets": ",".join(self.open_tickets)})
        self._terminate_if_done()

    def _terminate_if_done(self) -> None:
        if self.status == S.EXITED and all(t in self.reassigned for t in self.open_tickets):
            self.status = S.TERMINATED
            self._add(K.SUPPLIER_TERMINATED, {"reassigned": str(len(self.reassigned)), "total": str(self.total)})

    # ---------------------------------------------------------------- helpers

    def _add(self, kind: str, data: dict[str, str] | None = None) -> Milestone:
        previous = self.milestones[-1] if self.milestones else None
        if previous is None and self.tip is not None:
            # The first link of a continued run hangs off the last link of the previous run.
            previous = Milestone(subject=self.input.supplier_id, seq=self.tip.seq, kind=self.tip.kind,
                                 at=parse_time(self.tip.at), prev="", leaf=self.tip.leaf)
        m = new_milestone(self.input.supplier_id, previous, kind, workflow.now(), data)
        self.milestones.append(m)
        self.tip = ChainTip(seq=m.seq, leaf=m.leaf, kind=m.kind, at=format_time(m.at))
        self.wake = True
        return m

    def _queue_alert(self, m: Milestone, message: str) -> None:
        self.alerts.append(Notification(
            idempotency_key=f"{self.input.supplier_id}:{m.seq}", recipient=self.policy.committee_head,
            subject_id=self.input.supplier_id, kind=m.kind, message=message, details=dict(m.data)))

    async def _persist(self) -> None:
        # Deductions ride along with the milestones that record them, and are dropped once stored.
        sent: list[DeductionView] = []

        def record(views: list[MilestoneView]) -> RecordSupplierInput:
            sent[:] = self.unsaved
            return RecordSupplierInput(supplier_id=self.input.supplier_id, snapshot=self.state(),
                                       milestones=views, deductions=list(sent))

        def forget() -> None:
            del self.unsaved[:len(sent)]

        await persist(self, record, GovernanceActivities.record_supplier, stored=forget)

    async def _stored(self) -> None:
        """Update handlers return only once their latest milestone is in the read model."""
        index = len(self.milestones) - 1
        await workflow.wait_condition(lambda: self.persisted > index)

    # ---------------------------------------------------------------- query

    @workflow.query
    def state(self) -> SupplierView:
        return SupplierView(
            supplier_id=self.input.supplier_id, name=self.input.name, contract_value=self.input.contract_value,
            currency=self.input.currency, status=self.status.value, total=self.total,
            threshold_amount=threshold_amount(self.input.contract_value, self.policy.exit_threshold_percent),
            deduction_count=self.deduction_count, runs=self.runs, exit_started_at=self.exit_started_at,
            appeal_due=self.appeal_due, appeal_reason=self.appeal_reason, decision=self.decision,
            open_tickets=list(self.open_tickets), reassigned=dict(self.reassigned), recent=list(self.recent),
            milestones=[milestone_view(m) for m in self.milestones], tip=self.tip)

    # ---------------------------------------------------------------- updates

    @workflow.update
    async def record_deduction(self, cmd: DeductionInput) -> DeductionResult:
        await ready_for(lambda: self.ready, self._validate_deduction, cmd)
        result = self._deduct(cmd)
        if not result.duplicate:
            await self._stored()
        return result

    @workflow.signal(name=REPORT_INCIDENT_SIGNAL)
    async def report_incident(self, cmd: DeductionInput) -> None:
        """A supplier-caused incident from another workflow (a TicketWorkflow signals this).

        Signals cannot be rejected, so an invalid one is logged and dropped; a repeat is a no-op.
        """
        await workflow.wait_condition(lambda: self.ready)
        try:
            self._validate_deduction(cmd)
        except ApplicationError as exc:
            workflow.logger.warning("incident %s ignored: %s", cmd.incident_id, exc.message)
            return
        self._deduct(cmd)

    def _deduct(self, cmd: DeductionInput) -> DeductionResult:
        if cmd.incident_id in self.incident_ids:
            # Idempotent: the same incident never deducts twice; the caller learns it was a repeat.
            return DeductionResult(cmd.incident_id, 0, self.total, duplicate=True, exit_started=False,
                                   status=self.status.value)
        amount = cmd.amount or deduction_amount(self.input.contract_value,
                                                self.policy.deduction_percent_by_severity[cmd.severity])
        self.incident_ids.add(cmd.incident_id)
        self.total += amount
        self.deduction_count += 1
        after_exit = self.exit_started_at is not None
        m = self._add(K.DEDUCTION_RECORDED, {
            "incident_id": cmd.incident_id, "severity": cmd.severity, "amount": str(amount),
            "total": str(self.total), "ticket_id": cmd.ticket_id, "reason": cmd.reason, "actor": cmd.actor,
            "after_exit_started": "true" if after_exit else "false"})
        view = DeductionView(incident_id=cmd.incident_id, severity=cmd.severity, amount=amount,
                             ticket_id=cmd.ticket_id, at=format_time(m.at), leaf=m.leaf, after_exit=after_exit)
        self.unsaved.append(view)
        self.recent = (self.recent + [view])[-RECENT:]
        started = False
        # The exit process runs at most once per supplier: later deductions never start a second one.
        if (self.exit_started_at is None
                and exceeds_threshold(self.total, self.input.contract_value, self.policy.exit_threshold_percent)):
            started = True
            now = workflow.now()
            self.exit_started_at = format_time(now)
            self.appeal_due = format_time(add_business_days(self.policy.calendar, now,
                                                            self.policy.appeal_window_business_days))
            self.status = S.EXIT_NOTICE
            notice = self._add(K.EXIT_NOTICE, {
                "total": str(self.total), "contract_value": str(self.input.contract_value),
                "threshold_percent": f"{self.policy.exit_threshold_percent:g}", "appeal_due": self.appeal_due,
                "trigger_incident": cmd.incident_id})
            self._queue_alert(notice, f"Supplier {self.input.supplier_id}: deductions {self.total} exceed "
                                      f"{self.policy.exit_threshold_percent:g}% of {self.input.contract_value}; "
                                      f"exit notice, appeal until {self.appeal_due}")
        return DeductionResult(cmd.incident_id, amount, self.total, duplicate=False, exit_started=started,
                               status=self.status.value)

    @record_deduction.validator
    def _validate_deduction(self, cmd: DeductionInput) -> None:
        if not cmd.incident_id.strip():
            refuse("incident_id must not be empty")
        if cmd.incident_id in self.incident_ids:
            return  # a repeat is answered, not rejected: retries stay safe
        if cmd.severity not in self.policy.deduction_percent_by_severity:
            refuse(f"unknown severity {cmd.severity!r}; known: "
                    f"{sorted(self.policy.deduction_percent_by_severity)}")
        if cmd.amount < 0:
            refuse("amount must not be negative")

    @workflow.update
    async def file_appeal(self, cmd: AppealInput) -> SupplierView:
        await ready_for(lambda: self.ready, self._validate_appeal, cmd)
        self.status = S.APPEALED
        self.appeal_reason = cmd.reason
        m = self._add(K.APPEAL_FILED, {"reason": cmd.reason, "actor": cmd.actor})
        self._queue_alert(m, f"Supplier {self.input.supplier_id} appealed its exit: {cmd.reason}")
        await self._stored()
        return self.state()

    @file_appeal.validator
    def _validate_appeal(self, cmd: AppealInput) -> None:
        if self.status != S.EXIT_NOTICE:
            refuse(f"no exit notice to appeal; supplier is {self.status.value}")
        if self.appeal_due and workflow.now() >= parse_time(self.appeal_due):
            refuse(f"the appeal window ended at {self.appeal_due}")
        if not cmd.reason.strip():
            refuse("reason must not be empty")

    @workflow.update
    async def decide_appeal(self, cmd: AppealDecisionInput) -> SupplierView:
        await ready_for(lambda: self.ready, self._validate_decision, cmd)
        if cmd.upheld:
            self.decision = "upheld"
            self._add(K.APPEAL_UPHELD, {"reason": cmd.reason, "actor": cmd.actor})
            self._confirm_exit(f"appeal upheld: {cmd.reason}")
        else:
            # Exit withdrawn. The exit process ran once; a later deduction never starts a second one.
            self.decision = "granted"
            self.status = S.ACTIVE
            self.appeal_due = None
            self._add(K.APPEAL_GRANTED, {"reason": cmd.reason, "actor": cmd.actor})
        await self._stored()
        return self.state()

    @decide_appeal.validator
    def _validate_decision(self, cmd: AppealDecisionInput) -> None:
        if self.status != S.APPEALED:
            refuse(f"no appeal to decide; supplier is {self.status.value}")
        if not cmd.reason.strip():
            refuse("reason must not be empty")

    @workflow.update
    async def reassign_ticket(self, cmd: ReassignInput) -> SupplierView:
        await ready_for(lambda: self.ready and not self.listing_due, self._validate_reassign, cmd)
        self.reassigned[cmd.ticket_id] = cmd.to_team
        self._add(K.TICKET_REASSIGNED, {"ticket_id": cmd.ticket_id, "to_team": cmd.to_team, "actor": cmd.actor})
        self._terminate_if_done()
        await self._stored()
        return self.state()

    @reassign_ticket.validator
    def _validate_reassign(self, cmd: ReassignInput) -> None:
        if self.status not in EXIT_STATUSES:
            refuse(f"supplier is {self.status.value}; tickets are reassigned after its exit")
        if cmd.ticket_id not in self.open_tickets:
            refuse(f"ticket {cmd.ticket_id} is not among the supplier's open tickets")
        if cmd.ticket_id in self.reassigned:
            refuse(f"ticket {cmd.ticket_id} was already reassigned to {self.reassigned[cmd.ticket_id]}")
        if not cmd.to_team.strip():
            refuse("to_team must not be empty")

