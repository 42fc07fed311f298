"""A month (2026-11) of tickets, vouchers, suppliers, meetings and supervision planted in a read model.

Every figure of the report on this data is worked out by hand in ``test_report_figures.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import Session

from domain.milestones import Milestone as Link
from domain.milestones import format_time, new_milestone
from readmodel.db import get_engine, init_db
from readmodel.evaluation_models import Evaluation
from readmodel.feedback_models import Feedback
from readmodel.governance_models import Deduction, Meeting, MeetingTicket, Supplier
from readmodel.models import Milestone, Ticket, Voucher
from readmodel.spot_check_models import SpotCheckSample, SpotCheckTask
from readmodel.veto_models import VetoStatus

MONTH = "2026-11"

# Feedback received in November: ref, channel, status, outcome, observer, ticket, day. The observers'
# suggestions point at planted tickets for their first-response outcomes: A1 met, A2 missed, B4 not
# yet answered, and one whose ticket the triage has not started yet.
FEEDBACK = (
    ("F1", "web", "triaged", "ticket", None, "T-F1", 2),
    ("F2", "web", "triaged", "attached", None, "T-F2", 4),
    ("F3", "app", "triaged", "suggestion", None, "T-F3", 6),
    ("F4", "email", "triaged", "spam", None, "T-F4", 9),
    ("F5", "email", "duplicate", None, None, "T-F5", 9),
    ("F6", "branch", "received", None, None, "T-F6", 30),
    ("F7", "app", "triaged", "ticket", None, "T-F7", 14),
    ("OB1", "observer", "triaged", "ticket", "obs-1", "A1", 1),
    ("OB2", "observer", "triaged", "ticket", "obs-2", "A2", 3),
    ("OB3", "observer", "triaged", "ticket", "obs-1", "B4", 22),
    ("OB4", "observer", "triaged", "ticket", "obs-3", "T-OB4", 29),
)

# id, team, category, status, first response, resolution, rating, repeat, root cause, created (day of Nov)
NOVEMBER = (
    ("A1", "after-sales", "after_sales", "closed", "met", "met", 5, False, "parts_delay", 1),
    ("A2", "after-sales", "after_sales", "closed", "breached", "met", 3, True, "parts_delay", 3),
    ("A3", "after-sales", "after_sales", "resolved", "met", "breached", None, False, "wrong_diagnosis", 5),
    ("A4", "after-sales", "after_sales", "in_progress", "met", "pending", None, False, None, 8),
    ("A5", "after-sales", "after_sales", "cancelled", "met", "pending", None, False, None, 10),
    ("B1", "billing", "complaint", "closed", "met", "met", 4, False, "billing_error", 12),
    ("B2", "billing", "complaint", "closed", "breached", "breached", 1, True, "billing_error", 15),
    ("B3", "billing", "complaint", "closed", "met", "met", 2, False, "parts_delay", 18),
    ("B4", "billing", "complaint", "open", "pending", "pending", None, False, None, 22),
    ("B5", "billing", "complaint", "closed", "met", "met", 5, False, "rude_agent", 30),
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticket(tid: str, team: str, category: str, status: str, fr: str, res: str, rating: int | None, repeat: bool,
           cause: str | None, created: datetime) -> Ticket:
    return Ticket(id=tid, status=status, priority="P2", category=category, team=team, channel="app",
                  customer_ref_hash="0x" + "ab" * 32, summary="s", description="d", created_at=created,
                  updated_at=created, first_response_outcome=fr, resolution_outcome=res, rating=rating,
                  repeat_of="EARLIER" if repeat else None, root_cause=cause, breached="breached" in (fr, res))


def feedback(ref: str, channel: str, status: str, outcome: str | None, observer: str | None, ticket_id: str,
             at: datetime) -> Feedback:
    return Feedback(ref=ref, channel=channel, customer_key="ck-" + ref, dedupe_key="dk-" + ref, text_hash="0x",
                    key_id="k1", sealed="", status=status, outcome=outcome, ticket_id=ticket_id,
                    submitted_by="public", observer_id=observer, received_at=at,
                    triaged_at=at if status == "triaged" else None)


def _milestone(session: Session, subject: str, kind: str, at: str, data: dict[str, str],
               previous: Link | None = None) -> Link:
    m = new_milestone(subject, previous, kind, _at(at), data)
    session.add(Milestone(subject=subject, seq=m.seq, kind=m.kind, at=format_time(m.at), prev=m.prev, leaf=m.leaf,
                          data=json.dumps(m.data, sort_keys=True, separators=(",", ":"))))
    return m


def plant(db_url: str) -> None:
    init_db(db_url)
    with Session(get_engine(db_url)) as s:
        for tid, team, category, status, fr, res, rating, repeat, cause, day in NOVEMBER:
            s.add(ticket(tid, team, category, status, fr, res, rating, repeat, cause,
                         _at(f"2026-11-{day:02d}T09:00:00")))
        # Just outside the month on both sides; the first counts in October.
        s.add(ticket("EDGE-OCT", "billing", "complaint", "closed", "met", "met", 1, True, "billing_error",
                     _at("2026-10-31T23:59:59")))
        s.add(ticket("EDGE-DEC", "billing", "complaint", "closed", "met", "met", 1, True, "parts_delay",
                     _at("2026-12-01T00:00:00")))
        # October: 20 tickets (with EDGE-OCT): parts_delay 3 (15 %), billing_error 2 (10 %, EDGE-OCT one of them).
        for i in range(19):
            cause = "parts_delay" if i < 3 else "billing_error" if i == 3 else None
            s.add(ticket(f"O{i:02d}", "billing", "complaint", "closed", "met", "met", None, False, cause,
                         _at(f"2026-10-{i + 1:02d}T10:00:00")))
        # September: 10 tickets, parts_delay 1 (10 %). August: none.
        for i in range(10):
            s.add(ticket(f"S{i:02d}", "billing", "complaint", "closed", "met", "met", None, False,
                         "parts_delay" if i == 0 else None, _at(f"2026-09-{i + 1:02d}T10:00:00")))

        # Vouchers: V1, V2 issued in November (2,000 fen each), V2 and V3 redeemed in it, V4 in December.
        vouchers = (("V1", 2000, "2026-11-10", None), ("V2", 2000, "2026-11-12", "2026-11-20"),
                    ("V3", 500, "2026-10-30", "2026-11-02"), ("V4", 700, "2026-12-01", None))
        for number, (claim, amount, issued, redeemed) in enumerate(vouchers):
            s.add(Voucher(claim_id=claim, ticket_id="A2", breach="first_response", voucher_id=number + 1,
                          amount=amount, currency="CNY", tx_hash="0x" + "11" * 32, block_number=1,
                          issued_at=_at(f"{issued}T08:00:00"), redeemed=redeemed is not None,
                          redeemed_at=_at(f"{redeemed}T08:00:00") if redeemed else None))

        # Suppliers: S1 two deductions in November (one in October), S2 one, and S2 exits in November.
        for sid in ("SUP-1", "SUP-2"):
            s.add(Supplier(id=sid, name=sid, contract_value=1_000_000, currency="CNY", status="active",
                           updated_at=_at("2026-11-01T00:00:00")))
        for incident, sid, amount, at in (("D1", "SUP-1", 1500, "2026-11-03"), ("D2", "SUP-1", 2500, "2026-11-20"),
                                          ("D3", "SUP-1", 9999, "2026-10-30"), ("D4", "SUP-2", 10000, "2026-11-15")):
            s.add(Deduction(incident_id=incident, supplier_id=sid, severity="major", amount=amount, ticket_id="B2",
                            at=f"{at}T08:00:00.000000Z", leaf="0x" + "22" * 32))
        _milestone(s, "SUP-2", "exit_confirmed", "2026-11-25T08:00:00", {"reason": "over 10 %", "total": "10000"})

        # Meetings: M1 opened and solved in November on A1/A2 (parts_delay); M2 opened in October, unsolved,
        # late, on B2 (billing_error); M3 solved in September; M4 opened in December.
        for mid, title, status, opened, solved, breached, linked in (
                ("M1", "Spare parts arrive late", "verifying", "2026-11-05", "2026-11-07T10:00:00.000000Z", False,
                 ("A1", "A2")),
                ("M2", "Double charges", "open", "2026-10-10", None, True, ("B2",)),
                ("M3", "Old problem", "verified", "2026-09-01", "2026-09-03T10:00:00.000000Z", False, ("S00",)),
                ("M4", "Next month", "open", "2026-12-02", None, False, ("B3",))):
            s.add(Meeting(id=mid, title=title, category="after_sales", status=status, departments="[]", submitted="[]",
                          opened_at=_at(f"{opened}T09:00:00"), due_at="", breached=breached, solved_at=solved,
                          updated_at=_at(f"{opened}T09:00:00")))
            for t in linked:
                s.add(MeetingTicket(meeting_id=mid, ticket_id=t))

        # Spot check of November: 50 closed tickets, 6 sampled, 5 reviewed, 1 escalated, 3 findings.
        s.add(SpotCheckSample(month=MONTH, not_before="2026-12-01T06:00:00.000000Z", seed_block=1,
                              seed_hash="0x" + "33" * 32, seed_timestamp=0, population_count=50, sample_count=6,
                              population_hash="0x", sample_hash="0x", strata="{}", milestone_leaf="0x",
                              drawn_at=_at("2026-12-01T06:00:00")))
        for i in range(6):
            s.add(SpotCheckTask(month=MONTH, ticket_id=f"A{i}", stratum="x", abnormal=False, ticket_leaf="0x",
                                reviewer="r", status="reviewed" if i < 5 else "open", escalated=i == 5))
        prev = _milestone(s, f"spotcheck-{MONTH}", "spot_check_sampled", "2026-12-01T06:00:00", {"month": MONTH})
        for ticket_id, step, severity in (("A1", "diagnosis", "minor"), ("A2", "diagnosis", "major"),
                                          ("B1", "closure", "minor")):
            prev = _milestone(s, f"spotcheck-{MONTH}", "spot_check_finding", "2026-12-03T06:00:00",
                              {"ticket_id": ticket_id, "step": step, "severity": severity}, prev)

        # Mystery shopping: three in November, one in October.
        for eid, kind, target, month, scores in (("E1", "agent", "li.wei", MONTH, {"courtesy": 4, "accuracy": 3}),
                                                 ("E2", "agent", "li.wei", MONTH, {"courtesy": 5, "accuracy": 4}),
                                                 ("E3", "team", "billing", MONTH, {"courtesy": 2}),
                                                 ("E4", "team", "billing", "2026-10", {"courtesy": 1})):
            s.add(Evaluation(id=eid, target_kind=kind, target=target, month=month, visited_at=f"{month}-15T08:00:00Z",
                             scores=json.dumps(scores, sort_keys=True), evaluator="k", request_hash="0x", leaf="0x",
                             filed_at=_at("2026-11-15T09:00:00")))

        # Veto: billing has lost eligibility in 2026 (and in 2025, not this report's year).
        for team, year, count, eligible in (("after-sales", 2026, 1, True), ("billing", 2026, 3, False),
                                            ("billing", 2025, 4, False)):
            s.add(VetoStatus(team=team, year=year, threshold=3, count=count, eligible=eligible, complaints="[]",
                             updated_at=_at("2026-11-20T00:00:00")))
        for ref, channel, status, outcome, observer, ticket_id, day in FEEDBACK:
            s.add(feedback(ref, channel, status, outcome, observer, ticket_id, _at(f"2026-11-{day:02d}T11:00:00")))
        # Just outside the month on both sides.
        s.add(feedback("F-OCT", "web", "triaged", "ticket", None, "T-X", _at("2026-10-31T23:59:59")))
        s.add(feedback("F-DEC", "observer", "triaged", "ticket", "obs-1", "EDGE-DEC", _at("2026-12-01T00:00:00")))
        s.commit()
