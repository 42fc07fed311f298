"""Reads and writes of the analysis: generated history (bulk), failure rows, runs, proposals.

The case library's reads and writes are in readmodel/cases.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session, col

from readmodel.analysis_models import AnalysisRun, MeetingProposal, ProblemShare, TicketFacts
from readmodel.models import Milestone, Ticket

DONE = ("resolved", "closed")


def insert_history(session: Session, tickets: Sequence[dict[str, Any]], facts: Sequence[dict[str, Any]]) -> None:
    """Bulk insert of generated tickets and their facts (one executemany each; the caller commits)."""
    if tickets:
        session.execute(insert(Ticket), list(tickets))
    if facts:
        session.execute(insert(TicketFacts), list(facts))


def _finding_steps(session: Session) -> dict[str, str]:
    """Ticket id -> process step of its spot-check findings with a deviation (the last one wins)."""
    steps: dict[str, str] = {}
    rows = session.execute(select(col(Milestone.data)).where(col(Milestone.kind) == "spot_check_finding")
                           .order_by(col(Milestone.subject), col(Milestone.seq))).scalars()
    for data in rows:
        d = json.loads(data)
        if d.get("deviation", "none") != "none" and d.get("ticket_id") and d.get("step"):
            steps[str(d["ticket_id"])] = str(d["step"])
    return steps


def _reopened(session: Session) -> set[str]:
    rows = select(col(Milestone.subject)).where(col(Milestone.kind) == "reopened").distinct()
    return set(session.execute(rows).scalars())


FailureTuple = tuple[str, datetime, str, str, str, str | None, str | None, str]


def failure_rows(session: Session, *, since: datetime,
                 until: datetime | None = None) -> tuple[list[FailureTuple], dict[str, int]]:
    """Resolved tickets created since ``since`` (and before ``until``, if given) that failed, as (id,
    created_at (UTC), team, category, priority, step, root_cause, text), and the totals behind the
    rates (tickets, reopened, repeats).

    A failure: breached, a repeat complaint, reopened (facts or a ``reopened`` milestone), or a
    spot-check finding with a deviation; its step comes from the facts, else from the finding.
    """
    findings = _finding_steps(session)
    reopened = _reopened(session)
    q = (select(col(Ticket.id), col(Ticket.created_at), col(Ticket.team), col(Ticket.category),
                col(Ticket.priority), col(TicketFacts.step), col(Ticket.root_cause), col(Ticket.summary),
                col(Ticket.description), col(Ticket.breached), col(Ticket.repeat_of), col(TicketFacts.reopens))
         .outerjoin(TicketFacts, col(TicketFacts.ticket_id) == col(Ticket.id))
         .where(col(Ticket.created_at) >= since, col(Ticket.status).in_(DONE)))
    if until is not None:
        q = q.where(col(Ticket.created_at) < until)
    out: list[FailureTuple] = []
    totals = {"tickets": 0, "reopened": 0, "repeats": 0}
    for (tid, created, team, category, priority, step, cause, summary, description, breached, repeat_of,
         reopens) in session.execute(q):
        totals["tickets"] += 1
        was_reopened = bool(reopens) or tid in reopened
        totals["reopened"] += was_reopened
        totals["repeats"] += repeat_of is not None
        step = step or findings.get(tid)
        if not (breached or repeat_of is not None or was_reopened or step):
            continue
        text = description if description.startswith(summary) else f"{summary} {description}"
        at = created if created.tzinfo else created.replace(tzinfo=UTC)
        out.append((tid, at, team, category, priority, step, cause, text.strip()))
    return out, totals


def store_run(session: Session, *, run_key: str, as_of: datetime, tickets: int, failures: int,
              flagged_steps: list[str], result: dict[str, Any]) -> None:
    """One row per run key: a retried activity (or a second run the same day) replaces it."""
    row = session.get(AnalysisRun, run_key) or AnalysisRun(run_key=run_key, as_of=as_of, created_at=as_of,
                                                           tickets=0, failures=0, flagged_steps="", result="{}")
    row.as_of, row.created_at, row.tickets, row.failures = as_of, datetime.now(UTC), tickets, failures
    row.flagged_steps, row.result = ",".join(flagged_steps), json.dumps(result, ensure_ascii=False)
    session.add(row)
    figures: dict[str, list[float]] = {}
    for p in result.get("problems", []):
        f = figures.setdefault(p["problem_key"], [0.0, 0, 0])
        f[0], f[1], f[2] = f[0] + p["share_of_failures"], f[1] + p["estimated_size"], f[2] + p["recent"]
    session.execute(delete(ProblemShare).where(col(ProblemShare.run_key) == run_key))
    session.add_all([ProblemShare(run_key=run_key, problem_key=k, share_of_failures=round(v[0], 2), tickets=int(v[1]),
                                  recent=int(v[2])) for k, v in figures.items()])
    session.commit()


def share_history(session: Session, problem_key: str, *, limit: int = 90) -> list[ProblemShare]:
    """The problem's figures in its newest ``limit`` runs, oldest first."""
    q = (select(ProblemShare).where(col(ProblemShare.problem_key) == problem_key)
         .order_by(col(ProblemShare.run_key).desc()).limit(limit))
    return list(reversed(list(session.execute(q).scalars())))


def get_run(session: Session, run_key: str | None = None) -> AnalysisRun | None:
    """The run of ``run_key``, or the newest."""
    if run_key is not None:
        return session.get(AnalysisRun, run_key)
    return session.execute(select(AnalysisRun).order_by(col(AnalysisRun.run_key).desc()).limit(1)).scalars().first()


def propose(session: Session, proposals: Iterable[dict[str, Any]], *, run_key: str) -> list[str]:
    """Store each proposal whose problem key is new; return the keys stored now (exactly once per key)."""
    added: list[str] = []
    for p in proposals:
        if session.get(MeetingProposal, p["problem_key"]) is not None:
            continue
        evidence = {k: p[k] for k in ("reasons", "clusters", "share_of_failures", "tickets")}
        session.add(MeetingProposal(
            problem_key=p["problem_key"], title=p["title"][:300], departments=json.dumps(p["departments"]),
            category=p["category"], step=p["step"], root_cause=p["root_cause"],
            evidence=json.dumps(evidence, ensure_ascii=False), ticket_ids=json.dumps(p["ticket_ids"]),
            run_key=run_key, proposed_at=datetime.now(UTC)))
        added.append(p["problem_key"])
    session.commit()
    return added


def list_proposals(session: Session, *, status: str | None = None) -> list[MeetingProposal]:
    q = select(MeetingProposal).order_by(col(MeetingProposal.proposed_at).desc(), col(MeetingProposal.problem_key))
    if status is not None:
        q = q.where(col(MeetingProposal.status) == status)
    return list(session.execute(q).scalars())


def get_proposal(session: Session, problem_key: str) -> MeetingProposal | None:
    return session.get(MeetingProposal, problem_key)


def mark_accepted(session: Session, problem_key: str, *, meeting_id: str, by: str) -> None:
    row = session.get(MeetingProposal, problem_key)
    if row is None or row.status == "accepted":
        return
    row.status, row.meeting_id, row.accepted_by, row.accepted_at = "accepted", meeting_id, by, datetime.now(UTC)
    session.add(row)
    session.commit()


def mark_rejected(session: Session, problem_key: str, *, by: str, reason: str) -> MeetingProposal | None:
    """Marks a proposed problem rejected; a decided one (accepted or rejected) is returned unchanged."""
    row = session.get(MeetingProposal, problem_key)
    if row is None or row.status != "proposed":
        return row
    row.status, row.rejected_by, row.rejected_at, row.reject_reason = "rejected", by, datetime.now(UTC), reason
    session.add(row)
    session.commit()
    return row


def ticket_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Ticket)).scalar_one())

