"""Live tickets (no generated facts) feed the analysis and the case library from their evidence:
a spot-check finding gives the failing step, a `reopened` milestone makes a failure, a joint
meeting's solution becomes a case."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from analysis.generator import GeneratedTicket
from cli.data import ticket_rows
from readmodel import analysis as store
from readmodel import cases as case_store
from readmodel.db import init_db, session_scope
from readmodel.governance_models import Meeting
from readmodel.models import Milestone
from readmodel.records import erase_texts
from tests.helpers import tmp_db_url

AT = datetime(2026, 6, 1, 8, tzinfo=UTC)


def _ticket(ticket_id: str, text: str, *, root_cause: str) -> GeneratedTicket:
    return GeneratedTicket(id=ticket_id, created_at=AT, category="after_sales", team="after-sales", channel="app",
                           priority="P3", summary=text, description=text, lang="en", customer="C1",
                           root_cause=root_cause, failed=False, step=None, problem=None)


def _milestone(subject: str, seq: int, kind: str, data: dict[str, str]) -> Milestone:
    return Milestone(subject=subject, seq=seq, kind=kind, at="2026-06-20T08:00:00Z", prev="0x" + "0" * 64,
                     leaf=f"0x{subject}{seq}".ljust(66, "0")[:66], data=json.dumps(data))


def test_findings_reopens_and_meetings_feed_analysis_and_cases(tmp_path: Path) -> None:
    url = tmp_db_url(tmp_path)
    init_db(url)
    with session_scope(url) as s:
        rows, _ = ticket_rows([_ticket("T-found", "dryer drum noisy after repair", root_cause="wrong_part"),
                               _ticket("T-reopened", "router drops wifi every evening", root_cause="firmware"),
                               _ticket("T-fine", "asked for an invoice copy", root_cause="customer_request")])
        for row in rows:
            row["breached"] = False
        store.insert_history(s, rows, [])  # live tickets: no facts
        s.add(_milestone("spotcheck-2026-06", 3, "spot_check_finding", {
            "ticket_id": "T-found", "deviation": "process_step", "step": "diagnosis", "severity": "major"}))
        s.add(_milestone("spotcheck-2026-06", 4, "spot_check_finding", {
            "ticket_id": "T-fine", "deviation": "none", "step": "closure", "severity": "minor"}))
        s.add(_milestone("T-reopened", 5, "reopened", {"reason": "still drops"}))
        s.add(Meeting(id="M-1", title="Hand-off gap", category="logistics", status="verifying",
                      departments='["after-sales", "logistics"]', submitted="[]", opened_at=AT, due_at="x",
                      root_cause="handoff_gap", updated_at=AT))
        s.commit()
        failures, totals = store.failure_rows(s, since=datetime(2026, 1, 1, tzinfo=UTC))
        assert {f[0]: f[5] for f in failures} == {"T-found": "diagnosis", "T-reopened": None}
        assert totals == {"tickets": 3, "reopened": 1, "repeats": 0}
        cases = case_store.cases_from_records(s, failures)
        assert case_store.add_cases(s, cases) == 4 and case_store.add_cases(s, cases) == 0
        by_id = {c[0]: c for c in case_store.all_cases(s)}
        assert set(by_id) == {"ticket:T-found", "ticket:T-reopened", "finding:spotcheck-2026-06:3", "meeting:M-1"}
        assert by_id["finding:spotcheck-2026-06:3"][2].startswith("dryer drum noisy")
        assert by_id["meeting:M-1"][3] == "handoff_gap"
        # Erasing a ticket's texts erases the library's quotes of them, and the search index is rebuilt.
        before = case_store.version(s)
        erase_texts(session=s, ticket_id="T-found", request_ref="REQ-1", erased_by="quality#0", at=AT)
        by_id = {c[0]: c for c in case_store.all_cases(s)}
        assert by_id["ticket:T-found"][2] == by_id["finding:spotcheck-2026-06:3"][2] == "(erased)"
        assert by_id["ticket:T-reopened"][2].startswith("router drops wifi") and case_store.version(s) != before
