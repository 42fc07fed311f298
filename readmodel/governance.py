"""Reads and writes of the governance read model (meetings, suppliers, deductions).

Writers are idempotent upserts keyed on what the workflow decided (meeting id, supplier id,
incident id, subject + sequence number), because activities are retried.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from analysis.problem_share import FailureRow, problem_share
from domain.encoding import parse_time
from domain.governance import (
    EXIT_STATUSES,
    DeductionView,
    EffectQuery,
    EffectResult,
    RecordMeetingInput,
    RecordSupplierInput,
)
from readmodel import analysis as analysis_store
from readmodel.analysis_models import MeetingProposal
from readmodel.crud import append_milestones
from readmodel.db import init_db
from readmodel.governance_models import Deduction, Meeting, MeetingTicket, Supplier
from readmodel.models import Milestone, Ticket
from readmodel.paging import page

log = logging.getLogger("qualitrail.governance")

OPEN_TICKET_EXCLUDED = ("closed", "cancelled")


def init_governance_db(url: str) -> None:
    """Creates the read model including the governance tables (until readmodel/db.py imports them)."""
    engine = init_db(url)
    SQLModel.metadata.create_all(engine)


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------ meetings


def record_meeting(*, session: Session, record: RecordMeetingInput) -> None:
    """Upserts the meeting row and its ticket links, and appends its milestones."""
    snap = record.snapshot
    row = session.get(Meeting, record.meeting_id)
    if row is None:
        row = Meeting(id=record.meeting_id, title=snap.title, category=snap.category, status=snap.status,
                      departments=_json(snap.departments), submitted="[]", opened_at=parse_time(snap.opened_at),
                      due_at=snap.due_at, updated_at=parse_time(snap.opened_at))
    if len(snap.milestones) >= row.milestone_count:
        row.status = snap.status
        row.round = snap.round
        row.submitted = _json(snap.submitted)
        row.due_at = snap.due_at
        row.breached = bool(snap.breached_rounds)
        row.solved_at = snap.solved_at
        row.verify_at = snap.verify_at
        row.root_cause = snap.root_cause[:200] if snap.root_cause else None
        row.milestone_count = len(snap.milestones)
        if snap.milestones:
            row.updated_at = parse_time(snap.milestones[-1].at)
    session.add(row)
    linked = set(session.exec(select(MeetingTicket.ticket_id)
                              .where(MeetingTicket.meeting_id == record.meeting_id)).all())
    for ticket_id in snap.linked_tickets:
        if ticket_id not in linked:
            session.add(MeetingTicket(meeting_id=record.meeting_id, ticket_id=ticket_id))
    append_milestones(session=session, subject=record.meeting_id, milestones=record.milestones)
    session.commit()


def get_meeting(*, session: Session, meeting_id: str) -> Meeting | None:
    return session.get(Meeting, meeting_id)


def list_meetings(*, session: Session, status: str | None = None, category: str | None = None,
                  breached: bool | None = None, ticket_id: str | None = None, offset: int = 0,
                  limit: int = 50) -> tuple[list[Meeting], int]:
    filters: list[Any] = []
    if status is not None:
        filters.append(Meeting.status == status)
    if category is not None:
        filters.append(Meeting.category == category)
    if breached is not None:
        filters.append(Meeting.breached == breached)
    if ticket_id is not None:
        filters.append(col(Meeting.id).in_(select(MeetingTicket.meeting_id)
                                           .where(MeetingTicket.ticket_id == ticket_id)))
    return page(session, Meeting, filters, [col(Meeting.opened_at).desc(), col(Meeting.id)], offset=offset,
                limit=limit)


def linked_tickets(*, session: Session, meeting_id: str) -> list[str]:
    return sorted(session.exec(select(MeetingTicket.ticket_id)
                               .where(MeetingTicket.meeting_id == meeting_id)).all())


def _rates(session: Session, category: str, start: datetime, end: datetime) -> tuple[int, float, float]:
    tickets = session.exec(select(Ticket.id, Ticket.repeat_of).where(
        Ticket.category == category, Ticket.created_at >= start, Ticket.created_at < end)).all()
    if not tickets:
        return 0, 0.0, 0.0
    ids = [t[0] for t in tickets]
    repeats = sum(1 for t in tickets if t[1])
    reopened = session.exec(select(func.count(func.distinct(Milestone.subject))).where(
        col(Milestone.subject).in_(ids), Milestone.kind == "reopened")).one()
    return len(ids), repeats / len(ids), int(reopened) / len(ids)


def measure_effect(*, session: Session, query: EffectQuery) -> EffectResult:
    """Repeat-complaint and reopen rates of the category's tickets before and after the solution, and,
    for a meeting opened from a proposal, the problem's share of failures in the same two periods."""
    start, solved, end = parse_time(query.before_from), parse_time(query.before_to), parse_time(query.after_to)
    before_n, before_repeat, before_reopen = _rates(session, query.category, start, solved)
    after_n, after_repeat, after_reopen = _rates(session, query.category, solved, end)
    result = EffectResult(before_tickets=before_n, after_tickets=after_n, before_repeat_rate=before_repeat,
                          after_repeat_rate=after_repeat, before_reopen_rate=before_reopen,
                          after_reopen_rate=after_reopen)
    proposal = _proposal_of(session, query.meeting_id)
    if proposal is not None:
        # The analysis's own failure rows and share formula: the measure that proposed the meeting.
        # One read for both periods (the milestone scans behind it are the expensive part).
        rows, _ = analysis_store.failure_rows(session, since=start, until=end)
        failures = [FailureRow(*r) for r in rows]
        departments = json.loads(proposal.departments)
        before, after = (problem_share(part, departments, proposal.step, proposal.root_cause) for part in (
            [f for f in failures if f.created_at < solved], [f for f in failures if f.created_at >= solved]))
        result.problem_key = proposal.problem_key
        result.before_share, result.after_share = before.share, after.share
        result.before_problem_tickets, result.after_problem_tickets = before.matching, after.matching
        result.before_failures, result.after_failures = before.failures, after.failures
    return result


def _proposal_of(session: Session, meeting_id: str) -> MeetingProposal | None:
    """The accepted proposal that opened the meeting (``M-<problem key>``, api/commands.py), if any."""
    row = session.exec(select(MeetingProposal).where(MeetingProposal.meeting_id == meeting_id)).first()
    if row is None and meeting_id.startswith("M-"):  # started, but marked accepted only on a retry
        row = session.get(MeetingProposal, meeting_id.removeprefix("M-"))
    return row


# ------------------------------------------------------------------ suppliers


def record_supplier(*, session: Session, record: RecordSupplierInput) -> None:
    """Upserts the supplier row, inserts new deductions (unique incident id), appends milestones."""
    snap = record.snapshot
    tip_seq = snap.tip.seq if snap.tip else -1
    row = session.get(Supplier, record.supplier_id)
    if row is None:
        row = Supplier(id=record.supplier_id, name=snap.name, contract_value=snap.contract_value,
                       currency=snap.currency, status=snap.status, updated_at=datetime.now(UTC))
    if tip_seq >= row.tip_seq:
        row.status = snap.status
        row.total = snap.total
        row.deduction_count = snap.deduction_count
        row.exit_started_at = snap.exit_started_at
        row.appeal_due = snap.appeal_due
        row.decision = snap.decision
        row.open_tickets = _json(snap.open_tickets)
        row.reassigned = _json(snap.reassigned)
        row.runs = snap.runs
        row.tip_seq = tip_seq
        if snap.tip:
            row.updated_at = parse_time(snap.tip.at)
    session.add(row)
    for d in record.deductions:
        _insert_deduction(session, record.supplier_id, d)
    append_milestones(session=session, subject=record.supplier_id, milestones=record.milestones)
    session.commit()


def _insert_deduction(session: Session, supplier_id: str, d: DeductionView) -> None:
    existing = session.get(Deduction, d.incident_id)
    if existing is not None:
        if existing.supplier_id != supplier_id:
            # The API refuses this; if it slipped through, the first supplier keeps the incident.
            log.error("incident %s already deducted from %s; not from %s", d.incident_id,
                      existing.supplier_id, supplier_id)
        return
    session.add(Deduction(incident_id=d.incident_id, supplier_id=supplier_id, severity=d.severity,
                          amount=d.amount, ticket_id=d.ticket_id, at=d.at, leaf=d.leaf, after_exit=d.after_exit))


def get_supplier(*, session: Session, supplier_id: str) -> Supplier | None:
    return session.get(Supplier, supplier_id)


def list_suppliers(*, session: Session, status: str | None = None, offset: int = 0,
                   limit: int = 50, only: frozenset[str] | None = None) -> tuple[list[Supplier], int]:
    """A page of suppliers by id; ``only`` restricts it to those ids (a supplier manager's scope)."""
    filters: list[Any] = [] if status is None else [Supplier.status == status]
    if only is not None:
        filters.append(col(Supplier.id).in_(sorted(only)))
    return page(session, Supplier, filters, [col(Supplier.id)], offset=offset, limit=limit)


def deductions_of(*, session: Session, supplier_id: str) -> list[Deduction]:
    return list(session.exec(select(Deduction).where(Deduction.supplier_id == supplier_id)
                             .order_by(col(Deduction.at), col(Deduction.incident_id))).all())


def deduction_owner(*, session: Session, incident_id: str) -> str | None:
    row = session.get(Deduction, incident_id)
    return row.supplier_id if row else None


def supplier_open_tickets(*, session: Session, supplier_id: str) -> list[str]:
    return sorted(session.exec(select(Ticket.id).where(
        Ticket.supplier == supplier_id, col(Ticket.status).not_in(OPEN_TICKET_EXCLUDED))).all())


def supplier_accepts_tickets(session: Session, supplier_id: str) -> bool:
    """False once the supplier has exited (ticket creation answers 409); unknown suppliers pass."""
    row = session.get(Supplier, supplier_id)
    return row is None or row.status not in {s.value for s in EXIT_STATUSES}
