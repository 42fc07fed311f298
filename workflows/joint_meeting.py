"""JointMeetingWorkflow (问题会诊): one workflow per systemic quality problem (workflow id = meeting id).

Monitor -> analyse -> optimise -> verify (domain rules 11 and 20). Departments submit analyses and
the quality committee lead submits the solution through Updates whose validators reject invalid
transitions. The solution is due a policy-set time after each round starts; reminders go at the
policy's marks to departments that have not submitted, and a missed deadline is one breach milestone
and one alert per round while the meeting stays open. After the solution a verification period
runs, then an activity measures the effect and the meeting ends verified or reopens with the
figures as the reason. Every decision is a milestone in the meeting's own hash chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from workflows.names import LINK_MEETING_SIGNAL, MEETING_WORKFLOW
from workflows.support import DB_RETRY, milestone_view, persist, ready_for, refuse, send_alerts

with workflow.unsafe.imports_passed_through():
    from activities.governance import GovernanceActivities
    from domain.governance import (
        AnalysisInput,
        EffectQuery,
        EffectResult,
        GovernanceKind,
        LinkTicketInput,
        MeetingInput,
        MeetingStatus,
        MeetingTicketLink,
        MeetingView,
        RecordMeetingInput,
        SolutionAction,
        SolutionInput,
    )
    from domain.milestones import Milestone, format_time, new_milestone
    from domain.tickets import Notification

K = GovernanceKind
M = MeetingStatus



@workflow.defn(name=MEETING_WORKFLOW)
class JointMeetingWorkflow:
    @workflow.init
    def __init__(self, input: MeetingInput) -> None:
        self.input = input
        self.policy = input.policy
        self.status = M.OPEN
        self.opened_at = workflow.now()
        self.round = 1
        self.round_start = self.opened_at
        self.submitted: dict[str, str] = {}  # department -> analysis hash (this round)
        self.linked: list[str] = list(dict.fromkeys(input.linked_tickets))
        self.reminded: set[str] = set()
        self.reminders: list[str] = []
        self.breached_rounds: list[int] = []
        self.root_cause: str | None = None
        self.actions: list[SolutionAction] = []
        self.solved_at: datetime | None = None
        self.verify_at: datetime | None = None
        self.effect: EffectResult | None = None
        self.reopen_reasons: list[str] = []
        self.milestones: list[Milestone] = []
        self.persisted = 0
        self.alerts: list[Notification] = []
        self.links: list[tuple[str, MeetingTicketLink]] = []
        self.wake = False
        self.ready = False

    # ---------------------------------------------------------------- run loop

    @workflow.run
    async def run(self, input: MeetingInput) -> MeetingView:
        self._add(K.MEETING_OPENED, {
            "title": input.title, "category": input.category, "departments": ",".join(input.departments),
            "problem_hash": input.problem_hash, "opened_by": input.opened_by,
            "due_at": format_time(self._due())})
        for ticket_id in self.linked:
            self._link(ticket_id)
        await self._persist()
        self.ready = True

        while self.status != M.VERIFIED:
            self._fire_due_events()
            await self._persist()
            await self._send_pending()
            if self.status == M.VERIFYING and self.verify_at is not None and workflow.now() >= self.verify_at:
                await self._verify()
                continue
            try:
                await workflow.wait_condition(lambda: self.wake, timeout=self._next_wake())
            except TimeoutError:
                pass
            self.wake = False

        # Finish only with every accepted update done and every milestone stored.
        while not (workflow.all_handlers_finished() and self.persisted == len(self.milestones)):
            await workflow.wait_condition(lambda: workflow.all_handlers_finished()
                                          or self.persisted < len(self.milestones))
            await self._persist()
        await self._send_pending()
        return self.state()

    def _due(self) -> datetime:
        return self.round_start + timedelta(seconds=self.policy.solution_due_seconds)

    def _next_wake(self) -> timedelta | None:
        candidates: list[datetime] = []
        if self.status == M.OPEN:
            pending = self._pending_departments()
            for mark in self._reminder_marks():
                if any(self._reminder_key(d, mark) not in self.reminded for d in pending):
                    candidates.append(self.round_start + timedelta(seconds=mark))
            if self.round not in self.breached_rounds:
                candidates.append(self._due())
        if self.status == M.VERIFYING and self.verify_at is not None:
            candidates.append(self.verify_at)
        if not candidates:
            return None
        return max(min(candidates) - workflow.now(), timedelta(milliseconds=1))

    def _reminder_marks(self) -> list[float]:
        # A mark at or after the deadline would only duplicate the breach alert.
        return [m for m in self.policy.reminder_seconds if 0 < m < self.policy.solution_due_seconds]

    def _pending_departments(self) -> list[str]:
        return [d for d in self.input.departments if d not in self.submitted]

    def _reminder_key(self, department: str, mark: float) -> str:
        return f"{department}@{mark / 3600:g}h#{self.round}"

    def _fire_due_events(self) -> None:
        if self.status != M.OPEN:
            return
        now = workflow.now()
        for mark in self._reminder_marks():
            if now < self.round_start + timedelta(seconds=mark):
                continue
            for department in self._pending_departments():
                key = self._reminder_key(department, mark)
                if key in self.reminded:
                    continue
                self.reminded.add(key)
                self.reminders.append(key)
                m = self._add(K.MEETING_REMINDER, {"department": department, "mark_hours": f"{mark / 3600:g}",
                                                   "round": str(self.round)})
                self._queue_alert(m, self._head(department),
                                  f"Joint meeting {self.input.meeting_id}: analysis from {department} "
                                  f"is still missing ({mark / 3600:g} h)")
        if now >= self._due() and self.round not in self.breached_rounds:
            self.breached_rounds.append(self.round)
            m = self._add(K.MEETING_BREACH, {"round": str(self.round), "due_at": format_time(self._due()),
                                             "missing": ",".join(self._pending_departments())})
            self._queue_alert(m, self.policy.committee_head,
                              f"Joint meeting {self.input.meeting_id}: no solution "
                              f"{self.policy.solution_due_seconds / 3600:g} h after the start")

    async def _verify(self) -> None:
        assert self.solved_at is not None and self.verify_at is not None
        period = timedelta(seconds=self.policy.verification_seconds)
        query = EffectQuery(meeting_id=self.input.meeting_id, category=self.input.category,
                            before_from=format_time(self.solved_at - period),
                            before_to=format_time(self.solved_at), after_to=format_time(self.verify_at),
                            linked_tickets=list(self.linked))
        effect = await workflow.execute_activity_method(
            GovernanceActivities.measure_meeting_effect, query, start_to_close_timeout=timedelta(seconds=60),
            retry_policy=DB_RETRY)
        self.effect = effect
        if effect.improved():
            self.status = M.VERIFIED
            self._add(K.MEETING_VERIFIED, {"round": str(self.round), **effect.figures()})
        else:
            # Same commands as before; a result without the share gives the same reason as before.
            reason = effect.reason()
            self.reopen_reasons.append(reason)
            m = self._add(K.MEETING_REOPENED, {"round": str(self.round), "reason": reason, **effect.figures()})
            self._queue_alert(m, self.policy.committee_head,
                              f"Joint meeting {self.input.meeting_id} reopened: {reason}")
            self.round += 1
            self.round_start = workflow.now()
            self.status = M.OPEN
            self.submitted = {}
            self.root_cause = None
            self.actions = []
            self.solved_at = None
            self.verify_at = None
        await self._persist()

    # ---------------------------------------------------------------- helpers

    def _head(self, department: str) -> str:
        return self.policy.department_heads.get(department, self.policy.committee_head)

    def _add(self, kind: str, data: dict[str, str] | None = None) -> Milestone:
        previous = self.milestones[-1] if self.milestones else None
        m = new_milestone(self.input.meeting_id, previous, kind, workflow.now(), data)
        self.milestones.append(m)
        self.wake = True
        return m

    def _link(self, ticket_id: str) -> None:
        m = self._add(K.TICKET_LINKED, {"ticket_id": ticket_id})
        if self.input.signal_tickets:
            self.links.append((ticket_id, MeetingTicketLink(self.input.meeting_id, "linked", m.leaf)))

    def _queue_alert(self, m: Milestone, recipient: str, message: str) -> None:
        self.alerts.append(Notification(
            idempotency_key=f"{self.input.meeting_id}:{m.seq}", recipient=recipient,
            subject_id=self.input.meeting_id, kind=m.kind, message=message, details=dict(m.data)))

    async def _send_pending(self) -> None:
        await send_alerts(self.alerts)
        while self.links:
            ticket_id, link = self.links.pop(0)
            try:
                await workflow.get_external_workflow_handle(ticket_id).signal(LINK_MEETING_SIGNAL, link)
            except Exception:  # noqa: BLE001 - a closed or unknown ticket keeps the meeting's own record
                workflow.logger.warning("could not signal ticket %s", ticket_id)

    async def _persist(self) -> None:
        await persist(self, lambda views: RecordMeetingInput(meeting_id=self.input.meeting_id, snapshot=self.state(),
                                                             milestones=views),
                      GovernanceActivities.record_meeting)

    async def _persisted(self, m: Milestone) -> None:
        await workflow.wait_condition(lambda: self.persisted > m.seq)

    # ---------------------------------------------------------------- query

    @workflow.query
    def state(self) -> MeetingView:
        return MeetingView(
            meeting_id=self.input.meeting_id, status=self.status.value, title=self.input.title,
            category=self.input.category, departments=list(self.input.departments),
            submitted=sorted(self.submitted), linked_tickets=list(self.linked),
            opened_at=format_time(self.opened_at), due_at=format_time(self._due()), round=self.round,
            breached_rounds=list(self.breached_rounds), reminders=list(self.reminders),
            root_cause=self.root_cause, actions=list(self.actions),
            solved_at=format_time(self.solved_at) if self.solved_at else None,
            verify_at=format_time(self.verify_at) if self.verify_at else None, effect=self.effect,
            reopen_reasons=list(self.reopen_reasons), milestones=[milestone_view(m) for m in self.milestones])

    # ---------------------------------------------------------------- updates

    @workflow.update
    async def submit_analysis(self, cmd: AnalysisInput) -> MeetingView:
        await ready_for(lambda: self.ready, self._validate_analysis, cmd)
        self.submitted[cmd.department] = cmd.analysis_hash
        m = self._add(K.ANALYSIS_SUBMITTED, {"department": cmd.department, "analysis_hash": cmd.analysis_hash,
                                             "round": str(self.round), "actor": cmd.actor})
        await self._persisted(m)
        return self.state()

    @submit_analysis.validator
    def _validate_analysis(self, cmd: AnalysisInput) -> None:
        if self.status != M.OPEN:
            refuse(f"meeting is {self.status.value}; analyses are taken while it is open")
        if cmd.department not in self.input.departments:
            refuse(f"department {cmd.department!r} is not a participant; participants: "
                    f"{sorted(self.input.departments)}")
        if cmd.department in self.submitted:
            refuse(f"department {cmd.department!r} already submitted its analysis for round {self.round}")
        if not cmd.analysis_hash.strip():
            refuse("analysis must not be empty")

    @workflow.update
    async def submit_solution(self, cmd: SolutionInput) -> MeetingView:
        await ready_for(lambda: self.ready, self._validate_solution, cmd)
        now = workflow.now()
        self.root_cause = cmd.root_cause
        self.actions = list(cmd.actions)
        self.solved_at = now
        self.verify_at = now + timedelta(seconds=self.policy.verification_seconds)
        self.status = M.VERIFYING
        late = now > self._due()
        m = self._add(K.SOLUTION_SUBMITTED, {
            "root_cause": cmd.root_cause, "actions": str(len(cmd.actions)),
            "owners": ",".join(a.owner for a in cmd.actions), "dues": ",".join(a.due for a in cmd.actions),
            "round": str(self.round), "late": "true" if late else "false", "actor": cmd.actor})
        for ticket_id in self.linked:
            self._add(K.SOLUTION_SENT_TO_TICKET, {"ticket_id": ticket_id, "solution_leaf": m.leaf})
            if self.input.signal_tickets:
                self.links.append((ticket_id, MeetingTicketLink(
                    self.input.meeting_id, "solution", m.leaf, cmd.root_cause, len(cmd.actions))))
        last = self._add(K.VERIFICATION_STARTED, {"verify_at": format_time(self.verify_at)})
        await self._persisted(last)
        return self.state()

    @submit_solution.validator
    def _validate_solution(self, cmd: SolutionInput) -> None:
        if self.status != M.OPEN:
            refuse(f"meeting is {self.status.value}; a solution is taken while it is open")
        if not cmd.root_cause.strip():
            refuse("root_cause must not be empty")
        if not cmd.actions:
            refuse("actions must list at least one action")
        for i, action in enumerate(cmd.actions):
            if not action.action.strip() or not action.owner.strip() or not action.due.strip():
                refuse(f"actions[{i}] needs action, owner and due")

    @workflow.update
    async def link_ticket(self, cmd: LinkTicketInput) -> MeetingView:
        await ready_for(lambda: self.ready, self._validate_link, cmd)
        self.linked.append(cmd.ticket_id)
        self._link(cmd.ticket_id)
        await self._persisted(self.milestones[-1])
        return self.state()

    @link_ticket.validator
    def _validate_link(self, cmd: LinkTicketInput) -> None:
        if self.status == M.VERIFIED:
            refuse("meeting is verified")
        if not cmd.ticket_id.strip():
            refuse("ticket_id must not be empty")
        if cmd.ticket_id in self.linked:
            refuse(f"ticket {cmd.ticket_id} is already linked")

