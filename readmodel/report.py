"""The monthly quality report in the read model: count the month with SQL, freeze its record, publish once.

The ticket figures are SQL aggregates (one GROUP BY over the month's tickets, one over root causes),
never a Python loop over rows; the record (one short line per ticket, plus the month's vouchers,
deductions, exits, meetings, spot checks, evaluations and veto list) is frozen beside the report
as gzipped canonical JSON, because ticket rows keep changing after the month ends and the auditor
must recompute from exactly what was hashed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, and_, case, func, or_
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from domain.encoding import format_time
from domain.milestones import new_milestone
from domain.points import month_bounds
from domain.report import (
    FEEDBACK_FORMAT,
    REPORT_KIND,
    TicketCounts,
    assemble,
    canonical,
    digest,
    figures_from_counts,
    report_subject,
)
from domain.tickets import MilestoneView
from readmodel.crud import append_milestones
from readmodel.evaluation_models import Evaluation
from readmodel.feedback_models import Feedback
from readmodel.governance_models import Deduction, Meeting, MeetingTicket, Supplier
from readmodel.models import Milestone, Ticket, Voucher
from readmodel.report_models import QualityReport, QualityReportFile
from readmodel.spot_check_models import SpotCheckSample, SpotCheckTask
from readmodel.veto_models import VetoStatus

RECORD_FILE = "record.json.gz"
EXIT_KIND = "exit_confirmed"
FINDING_KIND = "spot_check_finding"


def _earlier_month(month: str, back: int) -> str:
    year, mon = (int(p) for p in month.split("-"))
    index = year * 12 + (mon - 1) - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _in_month(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def ticket_counts(session: Session, month: str) -> TicketCounts:
    """The month's ticket counts by one SQL aggregate (tickets created in the month).

    One GROUP BY over the covering index gives every ticket figure and the root causes: a few
    thousand groups at most, whatever the number of tickets.
    """
    start, end = month_bounds(month)
    c = TicketCounts()
    repeat = func.sum(case((col(Ticket.repeat_of).is_not(None), 1), else_=0))
    groups = (col(Ticket.team), col(Ticket.category), col(Ticket.status), col(Ticket.first_response_outcome),
              col(Ticket.resolution_outcome), func.coalesce(col(Ticket.root_cause), ""))
    rows = session.execute(columns(*groups, func.count(), func.count(col(Ticket.rating)),
                                   func.coalesce(func.sum(col(Ticket.rating)), 0), func.coalesce(repeat, 0))
                           .where(_in_month(col(Ticket.created_at), start, end)).group_by(*groups)).all()
    for team, category, status, fr, res, cause, n, rated, rating_sum, repeats in rows:
        c.add(team, category, status, fr, res, int(n))
        c.rating_count += int(rated)
        c.rating_sum += int(rating_sum)
        c.repeats += int(repeats)
        if cause:
            c.root_causes[cause] += int(n)
    return c


@contextmanager
def large_reads(session: Session) -> Iterator[None]:
    """On SQLite, a bigger page cache and in-memory sorting for the month's scans; put back after."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = session.connection()
    conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB while the report reads
    conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default
        conn.exec_driver_sql("PRAGMA temp_store=DEFAULT")


def _root_causes(session: Session, start: datetime, end: datetime) -> Counter[str]:
    rows = session.exec(select(Ticket.root_cause, func.count()).where(
        _in_month(col(Ticket.created_at), start, end), col(Ticket.root_cause).is_not(None), Ticket.root_cause != "")
        .group_by(col(Ticket.root_cause))).all()
    return Counter({str(cause): int(n) for cause, n in rows})


def _history(session: Session, month: str, months: int) -> list[list[Any]]:
    out: list[list[Any]] = []
    for back in range(months, 0, -1):
        earlier = _earlier_month(month, back)
        start, end = month_bounds(earlier)
        total = session.exec(select(func.count()).select_from(Ticket)
                             .where(_in_month(col(Ticket.created_at), start, end))).one()
        out.append([earlier, int(total), dict(sorted(_root_causes(session, start, end).items()))])
    return out


def ticket_lines(session: Session, month: str) -> list[tuple[Any, ...]]:
    """One line per ticket of the month, in the columns of ``domain.report.TICKET_COLUMNS``, in index order."""
    start, end = month_bounds(month)
    repeat = case((col(Ticket.repeat_of).is_not(None), 1), else_=0)
    query = (columns(col(Ticket.id), col(Ticket.team), col(Ticket.category), col(Ticket.status),
                     col(Ticket.first_response_outcome), col(Ticket.resolution_outcome), col(Ticket.rating), repeat,
                     func.coalesce(col(Ticket.root_cause), ""))
             .where(_in_month(col(Ticket.created_at), start, end)).order_by(col(Ticket.created_at), col(Ticket.id)))
    # Straight from the driver's cursor as its tuples (JSON writes them as arrays): these columns need
    # no conversion, and a Row (or a list) per ticket costs more than the query itself at a million.
    cursor = session.connection().execute(query).cursor
    out: list[tuple[Any, ...]] = []
    while batch := cursor.fetchmany(50_000):
        out.extend(batch)
    return out


def _vouchers(session: Session, start: datetime, end: datetime) -> list[list[Any]]:
    issued, redeemed = _in_month(col(Voucher.issued_at), start, end), _in_month(col(Voucher.redeemed_at), start, end)
    rows = session.execute(columns(col(Voucher.claim_id), col(Voucher.amount), col(Voucher.currency),
                                   case((issued, 1), else_=0).cast(Integer), case((redeemed, 1), else_=0).cast(Integer))
                           .where(or_(issued, redeemed)).order_by(col(Voucher.claim_id))).all()
    return [list(r) for r in rows]


def _meetings(session: Session, start: datetime, end: datetime) -> list[list[Any]]:
    """Meetings opened by the month's end that were opened or solved in it, or are still unsolved."""
    s, e = format_time(start), format_time(end)
    rows = session.exec(select(Meeting).where(col(Meeting.opened_at) < end, or_(
        _in_month(col(Meeting.opened_at), start, end), col(Meeting.solved_at).is_(None), col(Meeting.solved_at) >= s))
        .order_by(col(Meeting.id))).all()
    causes: dict[str, set[str]] = {}
    for meeting_id, cause in session.exec(select(MeetingTicket.meeting_id, Ticket.root_cause)
                                          .join(Ticket, col(Ticket.id) == col(MeetingTicket.ticket_id))
                                          .where(col(MeetingTicket.meeting_id).in_([m.id for m in rows]))).all():
        if cause:
            causes.setdefault(meeting_id, set()).add(cause)
    out = []
    for m in rows:
        solved = m.solved_at if m.solved_at and m.solved_at < e else None
        out.append([m.id, m.title, m.category, m.status, int(m.breached), int(start <= _aware(m.opened_at) < end),
                    int(bool(solved and solved >= s)), solved, sorted(causes.get(m.id, ()))])
    return out


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _spot_check(session: Session, month: str) -> dict[str, Any] | None:
    sample = session.get(SpotCheckSample, month)
    if sample is None:
        return None
    tasks = session.exec(select(SpotCheckTask).where(SpotCheckTask.month == month)).all()
    findings = []
    for m in session.exec(select(Milestone).where(Milestone.subject == f"spotcheck-{month}",
                                                  Milestone.kind == FINDING_KIND).order_by(col(Milestone.seq))):
        data = json.loads(m.data)
        findings.append([data.get("ticket_id", ""), data.get("step", ""), data.get("severity", "")])
    return {"population": sample.population_count, "sampled": sample.sample_count,
            "reviewed": sum(1 for t in tasks if t.status == "reviewed"),
            "escalated": sum(1 for t in tasks if t.escalated), "findings": findings}


def _feedback(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The month's feedback (received in it) and its observer suggestions, without any personal text."""
    rows = session.execute(columns(col(Feedback.ref), col(Feedback.channel), col(Feedback.status),
                                   func.coalesce(col(Feedback.outcome), ""))
                           .where(_in_month(col(Feedback.received_at), start, end))
                           .order_by(col(Feedback.received_at), col(Feedback.ref))).all()
    suggestions = session.execute(columns(col(Feedback.ref), col(Feedback.ticket_id),
                                          func.coalesce(col(Ticket.first_response_outcome), ""))
                                  .join(Ticket, col(Ticket.id) == col(Feedback.ticket_id), isouter=True)
                                  .where(_in_month(col(Feedback.received_at), start, end),
                                         col(Feedback.observer_id).is_not(None), col(Feedback.status) != "duplicate")
                                  .order_by(col(Feedback.received_at), col(Feedback.ref))).all()
    return {"feedback_format": FEEDBACK_FORMAT, "feedback": [list(r) for r in rows],
            "observer_suggestions": [list(r) for r in suggestions]}


def build_record(session: Session, month: str, *, top_problems: int, trend_months: int,
                 with_tickets: bool = True) -> dict[str, Any]:
    """Everything the month's figures are computed from, as plain JSON (``with_tickets=False``: all but
    the per-ticket lines, whose figures come from :func:`ticket_counts`)."""
    start, end = month_bounds(month)
    s, e = format_time(start), format_time(end)
    deductions = session.execute(columns(col(Deduction.incident_id), col(Deduction.supplier_id),
                                         col(Deduction.severity), col(Deduction.amount), col(Supplier.currency))
                                 .join(Supplier, col(Supplier.id) == col(Deduction.supplier_id))
                                 .where(col(Deduction.at) >= s, col(Deduction.at) < e)
                                 .order_by(col(Deduction.incident_id))).all()
    exits = session.exec(select(Milestone.subject, Milestone.at).where(
        Milestone.kind == EXIT_KIND, Milestone.at >= s, Milestone.at < e).order_by(col(Milestone.at))).all()
    evaluations = session.exec(select(Evaluation).where(Evaluation.month == month)
                               .order_by(col(Evaluation.id))).all()
    veto = session.exec(select(VetoStatus).where(VetoStatus.year == start.year).order_by(col(VetoStatus.team))).all()
    return {
        "month": month, "period": {"start": s, "end": e},
        "rules": {"top_problems": top_problems, "trend_months": trend_months},
        "tickets": ticket_lines(session, month) if with_tickets else [],
        "history": _history(session, month, trend_months),
        "vouchers": _vouchers(session, start, end),
        "deductions": [list(d) for d in deductions],
        "exits": [list(x) for x in exits],
        "meetings": _meetings(session, start, end),
        "spot_check": _spot_check(session, month),
        "evaluations": [[v.id, v.target_kind, v.target, json.loads(v.scores)] for v in evaluations],
        "veto": [[v.team, v.year, v.count, v.threshold, v.eligible] for v in veto],
        **_feedback(session, start, end),
    }


def compute(session: Session, month: str, *, top_problems: int = 3,
            trend_months: int = 3) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """The month's report, its record and the record's canonical bytes (nothing stored)."""
    record = build_record(session, month, top_problems=top_problems, trend_months=trend_months)
    figures = figures_from_counts(record, ticket_counts(session, month))
    body = canonical(record)
    return assemble(record, figures, "0x" + hashlib.sha256(body).hexdigest()), record, body


Renderer = Callable[[dict[str, Any], str], bytes]


def publish(*, session: Session, month: str, top_problems: int, trend_months: int,
            render_pdf: Renderer | None = None) -> QualityReport:
    """Computes, stores and records the month's report with its milestone: once.

    One transaction; a published month is returned as it is, so a retried activity adds nothing.
    The milestone is stamped at the month's end, so a second computation would give the same leaf.
    """
    existing = session.get(QualityReport, month)
    if existing is not None:
        return existing
    with large_reads(session):
        report, _record, record_bytes = compute(session, month, top_problems=top_problems,
                                                trend_months=trend_months)
    body = canonical(report)
    report_hash = digest(report)
    end = month_bounds(month)[1]
    m = new_milestone(report_subject(month), None, REPORT_KIND, end, {
        "month": month, "report_hash": report_hash, "record_hash": report["record_hash"],
        "tickets": str(report["figures"]["tickets"]["total"])})
    append_milestones(session=session, subject=m.subject, milestones=[MilestoneView(
        seq=m.seq, kind=m.kind, at=format_time(m.at), data=m.data, prev=m.prev, leaf=m.leaf)])
    session.add(QualityReportFile(month=month, name=RECORD_FILE, content=gzip.compress(record_bytes, 1)))
    if render_pdf is not None:
        for lang in ("zh", "en"):
            session.add(QualityReportFile(month=month, name=f"report-{lang}.pdf", content=render_pdf(report, lang)))
    row = QualityReport(month=month, report=body.decode("ascii"), report_hash=report_hash,
                        record_hash=report["record_hash"], milestone_leaf=m.leaf, built_at=datetime.now(UTC))
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def get_report(*, session: Session, month: str) -> QualityReport | None:
    return session.get(QualityReport, month)


def get_file(*, session: Session, month: str, name: str) -> bytes | None:
    row = session.get(QualityReportFile, (month, name))
    return row.content if row else None


def list_months(*, session: Session) -> list[str]:
    return list(session.exec(select(QualityReport.month).order_by(col(QualityReport.month).desc())).all())


def report_milestone(*, session: Session, month: str) -> Milestone | None:
    return session.exec(select(Milestone).where(Milestone.subject == report_subject(month),
                                                Milestone.seq == 0)).first()
