"""Reads and writes of the case library (rule 13): cases from resolved failed tickets, spot-check
findings and joint-meeting solutions, plus the generated typical cases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from readmodel.analysis_models import Case
from readmodel.governance_models import Meeting
from readmodel.models import Milestone, Ticket

FIELDS = ("id", "source", "problem", "cause", "measure", "outcome", "category", "team", "step", "lang")


def add_cases(session: Session, cases: Sequence[dict[str, Any]], *, batch: int = 5000) -> int:
    """Insert the cases whose id is new (a case is never rewritten); return how many were added."""
    added = 0
    for start in range(0, len(cases), batch):
        chunk = cases[start:start + batch]
        known = set(session.execute(select(col(Case.id)).where(col(Case.id).in_([c["id"] for c in chunk]))).scalars())
        now = datetime.now(UTC)
        fresh = [{**c, "ticket_id": c.get("ticket_id", ""), "created_at": c.get("created_at") or now, "added_at": now}
                 for c in chunk if c["id"] not in known]
        fresh = list({c["id"]: c for c in fresh}.values())
        if fresh:
            session.execute(insert(Case), fresh)
            added += len(fresh)
    session.commit()
    return added


def erase_ticket_cases(session: Session, ticket_id: str) -> int:
    """Blanks the problem text of every case quoting ``ticket_id`` (the caller commits); the index is
    rebuilt because the rows count as added again."""
    rows = list(session.execute(select(Case).where(col(Case.ticket_id) == ticket_id)).scalars())
    now = datetime.now(UTC)
    for row in rows:
        row.problem, row.added_at = "(erased)", now
        session.add(row)
    return len(rows)


def version(session: Session) -> str:
    """Changes whenever cases are added (the search index is rebuilt then): one index lookup."""
    return str(session.execute(select(func.max(col(Case.added_at)))).scalar_one())


def all_cases(session: Session) -> list[tuple[str, ...]]:
    """Every case as a tuple in :data:`FIELDS` order, oldest first."""
    cols = [getattr(Case, f) for f in FIELDS]
    return [tuple(r) for r in session.execute(select(*cols).order_by(col(Case.created_at), col(Case.id)))]


def ticket_text(session: Session, ticket_id: str) -> tuple[str, str, str] | None:
    """(text, category, team) of a ticket, for its similar cases."""
    row = session.get(Ticket, ticket_id)
    if row is None:
        return None
    text = row.description if row.description.startswith(row.summary) else f"{row.summary} {row.description}"
    return text.strip(), row.category, row.team


def cases_from_records(session: Session, failures: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Cases from failed resolved tickets with a root cause, spot-check findings and meeting solutions.

    ``failures`` are readmodel/analysis.py:failure_rows tuples; ids make a second run add nothing.
    """
    cases: list[dict[str, Any]] = []
    resolution: dict[str, str | None] = {}
    ids = [f[0] for f in failures if f[6]]
    for start in range(0, len(ids), 5000):
        chunk = select(col(Ticket.id), col(Ticket.resolution_code)).where(col(Ticket.id).in_(ids[start:start + 5000]))
        resolution.update({tid: code for tid, code in session.execute(chunk)})
    for tid, created, team, category, _priority, step, cause, text in failures:
        if not cause:
            continue
        cases.append({"id": f"ticket:{tid}", "source": "ticket", "problem": text[:2000], "cause": cause,
                      "measure": resolution.get(tid) or "", "outcome": "resolved", "category": category,
                      "team": team, "step": step or "", "lang": "", "ticket_id": tid, "created_at": created})
    tickets: dict[str, tuple[str, str, str]] = {}
    findings = select(col(Milestone.subject), col(Milestone.seq), col(Milestone.data), col(Milestone.at))
    for subject, seq, data, at in session.execute(findings.where(col(Milestone.kind) == "spot_check_finding")):
        d = json.loads(data)
        if d.get("deviation", "none") == "none":
            continue
        tid = str(d.get("ticket_id", ""))
        if tid not in tickets:
            tickets[tid] = ticket_text(session, tid) or ("", "", "")
        text, category, team = tickets[tid]
        cases.append({"id": f"finding:{subject}:{seq}", "source": "finding",
                      "problem": f"{text} (spot check: {d['deviation']} at {d.get('step', '')})".strip()[:2000],
                      "cause": str(d["deviation"]), "measure": "", "outcome": f"finding, {d.get('severity', '')}",
                      "category": category, "team": team, "step": str(d.get("step", "")), "lang": "",
                      "ticket_id": tid, "created_at": datetime.fromisoformat(at.replace("Z", "+00:00"))})
    for meeting in session.execute(select(Meeting).where(col(Meeting.root_cause).is_not(None))).scalars():
        cases.append({"id": f"meeting:{meeting.id}", "source": "meeting", "problem": meeting.title,
                      "cause": meeting.root_cause or "", "measure": f"joint meeting solution, round {meeting.round}",
                      "outcome": meeting.status, "category": meeting.category,
                      "team": ",".join(json.loads(meeting.departments)), "step": "", "lang": "",
                      "created_at": meeting.opened_at})
    return cases
