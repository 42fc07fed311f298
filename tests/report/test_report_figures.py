"""The monthly quality report on planted data (tests/report/planted.py): every figure against a hand count.

November 2026 has ten tickets (A1-A5 after-sales, B1-B5 billing); the tickets of September and
October give the trends; edge tickets at 2026-10-31T23:59:59 and 2026-12-01T00:00:00 fall outside.
"""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageStat
from temporalio.testing import ActivityEnvironment

from activities.report import ReportActivities
from domain.report import ReportMonthInput, counts_from_record, digest, figures_from_counts
from readmodel import report
from readmodel.db import session_scope
from tests.report.conftest import POLICY, Published
from tests.report.planted import MONTH


@pytest.fixture(scope="module")
def doc(published: Published) -> dict[str, Any]:
    with session_scope(published.db_url) as session:
        row = report.get_report(session=session, month=MONTH)
        assert row is not None
        return dict(json.loads(row.report))


def test_ticket_and_sla_figures_equal_the_hand_count(doc: dict[str, Any]) -> None:
    f = doc["figures"]
    assert f["tickets"] == {"total": 10, "by_status": {"cancelled": 1, "closed": 6, "in_progress": 1, "open": 1,
                                                       "resolved": 1}}
    # First response: met A1 A3 A4 A5 B1 B3 B5, missed A2 B2, open B4 -> 7 / 9.
    assert f["sla"]["first_response"] == {"met": 7, "breached": 2, "pending": 1, "compliance": "77.8"}
    # Resolution: met A1 A2 B1 B3 B5, missed A3 B2, open A4 A5 B4 -> 5 / 7.
    assert f["sla"]["resolution"] == {"met": 5, "breached": 2, "pending": 3, "compliance": "71.4"}
    assert f["sla"]["by_team_category"] == [
        {"team": "after-sales", "category": "after_sales", "tickets": 5,
         "first_response": {"met": 4, "breached": 1, "pending": 0, "compliance": "80.0"},
         "resolution": {"met": 2, "breached": 1, "pending": 2, "compliance": "66.7"}},
        {"team": "billing", "category": "complaint", "tickets": 5,
         "first_response": {"met": 3, "breached": 1, "pending": 1, "compliance": "75.0"},
         "resolution": {"met": 3, "breached": 1, "pending": 1, "compliance": "75.0"}}]
    # Cancelled A5 is not counted: closed 6 of 9; resolved or closed 7 of 9.
    assert f["completion"] == {"closed": 6, "counted": 9, "rate": "66.7"}
    assert f["resolution"] == {"resolved": 7, "counted": 9, "rate": "77.8"}
    # Ratings 5 3 4 1 2 5.
    assert f["rating"] == {"count": 6, "sum": 20, "average": "3.33"}
    assert f["repeat_complaints"] == {"count": 2, "rate": "20.0"}


def test_supervision_figures_equal_the_hand_count(doc: dict[str, Any]) -> None:
    f = doc["figures"]
    # Issued in November: V1, V2 (2,000 fen each); redeemed in November: V2, V3 (2,000 + 500).
    assert f["vouchers"] == {"issued": {"count": 2, "amounts": {"CNY": 4000}},
                             "redeemed": {"count": 2, "amounts": {"CNY": 2500}}}
    assert f["suppliers"] == {
        "deductions": {"count": 3, "by_supplier": [{"supplier": "SUP-1", "currency": "CNY", "count": 2, "amount": 4000},
                                                   {"supplier": "SUP-2", "currency": "CNY", "count": 1,
                                                    "amount": 10000}]},
        "exits": [{"supplier": "SUP-2", "at": "2026-11-25T08:00:00.000000Z"}]}
    meetings = f["meetings"]
    assert (meetings["opened"], meetings["solved"], meetings["verified"], meetings["breached"]) == (1, 1, 0, 1)
    assert [(m["meeting_id"], m["status"], m["breached"]) for m in meetings["list"]] == [
        ("M1", "verifying", False), ("M2", "open", True)]
    assert f["spot_check"] == {"population": 50, "sampled": 6, "reviewed": 5, "escalated": 1, "findings": 3,
                               "sample_rate": "12.0", "findings_by_step": {"closure": 1, "diagnosis": 2},
                               "findings_by_severity": {"major": 1, "minor": 2}}
    assert f["mystery_shopping"] == {"evaluations": 3, "targets": [
        {"target_kind": "agent", "target": "li.wei", "evaluations": 2,
         "mean_scores": {"accuracy": "3.50", "courtesy": "4.50"}},
        {"target_kind": "team", "target": "billing", "evaluations": 1, "mean_scores": {"courtesy": "2.00"}}]}
    assert f["veto"] == [{"team": "billing", "year": 2026, "count": 3, "threshold": 3}]


def test_customer_feedback_figures_equal_the_hand_count(doc: dict[str, Any]) -> None:
    # Eleven pieces in November (F-OCT and F-DEC fall outside): web F1 F2, app F3 F7, e-mail F4 F5,
    # branch F6, observers OB1-OB4. F5 is a duplicate (not triaged); F6 is not triaged yet.
    assert doc["figures"]["customer_feedback"] == {
        "format": 1, "received": 11, "duplicates": 1,
        "by_channel": {"app": 2, "branch": 1, "email": 2, "observer": 4, "web": 2},
        # Tickets: F1 F7 and the four observer suggestions; attached F2; suggestion F3; spam F4.
        "triage": {"ticket": 6, "attached": 1, "suggestion": 1, "spam": 1, "pending": 1},
        # OB1's ticket answered in time, OB2's late, OB3's and OB4's not yet: 1 of 4 within target.
        "observer_suggestions": {"received": 4, "answered": 2, "answered_within_target": 1,
                                 "within_target_rate": "25.0"}}


def test_a_record_from_before_the_feedback_section_still_recomputes_as_published(published: Published) -> None:
    with session_scope(published.db_url) as session:
        packed = report.get_file(session=session, month=MONTH, name=report.RECORD_FILE)
    assert packed is not None
    record = json.loads(gzip.decompress(packed))
    figures = figures_from_counts(record, counts_from_record(record))
    # A record written before the section existed has none of its parts: the section stays empty, as
    # it was published then, and every other figure is unchanged.
    old = {k: v for k, v in record.items() if k not in ("feedback_format", "feedback", "observer_suggestions")}
    old_figures = figures_from_counts(old, counts_from_record(old))
    assert old_figures["customer_feedback"] is None
    assert {**old_figures, "customer_feedback": figures["customer_feedback"]} == figures
    # A section format this code does not know is refused, never guessed at.
    with pytest.raises(ValueError, match="feedback_format 2"):
        figures_from_counts({**record, "feedback_format": 2}, counts_from_record(record))


def test_top_three_problems_with_trends_and_measures(doc: dict[str, Any]) -> None:
    top = doc["figures"]["top_problems"]
    # parts_delay A1 A2 B3; billing_error B1 B2; then a tie of one each, broken by name: rude_agent.
    assert [(p["root_cause"], p["failures"], p["rate"]) for p in top] == [
        ("parts_delay", 3, "30.0"), ("billing_error", 2, "20.0"), ("rude_agent", 1, "10.0")]
    # August had no tickets; September 1 of 10; October 3 of 20 (15 %) and 2 of 20 (EDGE-OCT included).
    assert [(t["month"], t["rate"]) for t in top[0]["trend"]] == [
        ("2026-08", None), ("2026-09", "10.0"), ("2026-10", "15.0"), ("2026-11", "30.0")]
    assert [t["rate"] for t in top[1]["trend"]] == [None, "0.0", "10.0", "20.0"]
    assert [t["rate"] for t in top[2]["trend"]] == [None, "0.0", "0.0", "10.0"]
    # Measures: the joint meetings on tickets with that root cause (M3 ended in September, M4 is later).
    assert [(m["meeting_id"], m["status"]) for m in top[0]["measures"]] == [("M1", "verifying")]
    assert [(m["meeting_id"], m["status"]) for m in top[1]["measures"]] == [("M2", "open")]
    assert top[2]["measures"] == []


def test_the_record_recomputes_to_the_same_figures_and_the_milestone_holds_the_hash(
        published: Published, doc: dict[str, Any]) -> None:
    with session_scope(published.db_url) as session:
        row = report.get_report(session=session, month=MONTH)
        packed = report.get_file(session=session, month=MONTH, name=report.RECORD_FILE)
        m = report.report_milestone(session=session, month=MONTH)
    assert row is not None and packed is not None and m is not None
    record = json.loads(gzip.decompress(packed))
    assert len(record["tickets"]) == 10 and digest(record) == doc["record_hash"]
    assert figures_from_counts(record, counts_from_record(record)) == doc["figures"]
    assert digest(doc) == row.report_hash == published.result.report_hash
    data = json.loads(m.data)
    assert (m.subject, m.kind, data["report_hash"], data["tickets"]) == (
        f"report-{MONTH}", "quality_report_published", row.report_hash, "10")
    assert m.at == "2026-12-01T00:00:00.000000Z" and m.leaf == published.result.milestone_leaf


def test_a_second_run_publishes_nothing_new(published: Published) -> None:
    again = ActivityEnvironment().run(ReportActivities(published.db_url, POLICY).publish_quality_report,
                                      ReportMonthInput(MONTH))
    assert again == published.result


def _not_blank(png: Image.Image) -> bool:
    grey = png.convert("L")
    dark = sum(grey.histogram()[:200])
    return dark > 0.01 * grey.width * grey.height and ImageStat.Stat(grey).stddev[0] > 10


@pytest.mark.parametrize(("lang", "words"), [("zh", ("三大问题", "服务时限达标率", "parts_delay", "观察员建议 4 条")),
                                             ("en", ("TOP 3 problems", "Service time limits met", "parts_delay",
                                                     "Observer suggestions: 4 received"))])
def test_the_pdf_renders_in_both_languages(published: Published, lang: str, words: tuple[str, ...]) -> None:
    with session_scope(published.db_url) as session:
        pdf = report.get_file(session=session, month=MONTH, name=f"report-{lang}.pdf")
    assert pdf is not None and pdf.startswith(b"%PDF")
    document = pdfium.PdfDocument(io.BytesIO(pdf))
    try:
        assert len(document) >= 1
        text = ""
        for i in range(len(document)):
            page = document[i]
            image = page.render(scale=1.5).to_pil()
            assert _not_blank(image), f"page {i + 1} of the {lang} PDF is blank"
            text += page.get_textpage().get_text_range()
        for w in words:
            assert w in text, f"{w!r} missing from the {lang} PDF"
        assert "30.0%" in text and "77.8%" in text
    finally:
        document.close()
