"""The one share formula behind a proposal and its meeting's verification, at its edges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis.problem_share import FailureRow, problem_share, share_of_failures
from domain.governance import EffectResult

AT = datetime(2026, 11, 1, tzinfo=UTC)
DEPTS = ["after-sales", "logistics"]


def row(team: str, step: str | None = "follow_up", cause: str | None = "handoff_gap") -> FailureRow:
    return FailureRow("T-1", AT, team, "delivery", "P2", step, cause, "text")


def test_no_tickets_is_a_zero_share_not_a_division_error() -> None:
    figures = problem_share([], DEPTS, "follow_up", "handoff_gap")
    assert (figures.matching, figures.failures, figures.share) == (0, 0, 0.0)
    assert share_of_failures(0, 0) == 0.0


def test_failures_but_none_of_the_problem_is_zero_and_all_of_them_is_100() -> None:
    others = [row("billing"), row("after-sales", step="diagnosis"), row("logistics", cause="wrong_part"),
              row("after-sales", step=None, cause=None)]
    assert problem_share(others, DEPTS, "follow_up", "handoff_gap").share == 0.0
    ours = [row("after-sales"), row("logistics")]
    figures = problem_share(ours, DEPTS, "follow_up", "handoff_gap")
    assert (figures.matching, figures.failures, figures.share) == (2, 2, 100.0)
    mixed = problem_share(ours + others[:1], DEPTS, "follow_up", "handoff_gap")
    assert (mixed.matching, mixed.failures, mixed.share) == (2, 3, 66.67)


def test_the_cluster_estimate_and_counts_share_one_rounding_and_refuse_negatives() -> None:
    assert share_of_failures(90, 600) == 15.0  # the planted cross-department problem (test_proposals.py)
    assert share_of_failures(1, 3) == 33.33 and share_of_failures(2.5, 10) == 25.0
    with pytest.raises(ValueError):
        share_of_failures(-1, 10)


def effect(before: float | None, after: float | None) -> EffectResult:
    # Rates that verify on their own (repeat rate fell), so the share alone decides.
    return EffectResult(10, 10, 0.2, 0.1, 0.0, 0.0, problem_key="P-x", before_share=before, after_share=after,
                        before_problem_tickets=4, after_problem_tickets=2, before_failures=10, after_failures=10)


def test_the_share_must_fall_when_it_was_measured() -> None:
    assert effect(None, None).improved() and "before_share" not in effect(None, None).figures()
    assert effect(40.0, 20.0).improved()
    assert not effect(40.0, 40.0).improved() and not effect(20.0, 50.0).improved()
    assert effect(0.0, 0.0).improved()  # nothing of the problem left on either side
    assert "share of failures 20.00% -> 50.00% (4 -> 2 tickets)" in effect(20.0, 50.0).reason()
    assert effect(None, None).reason() == "repeat rate 0.2000 -> 0.1000, reopen rate 0.0000 -> 0.0000"
    worse_rates = EffectResult(10, 10, 0.1, 0.2, 0.0, 0.0, before_share=40.0, after_share=10.0)
    assert not worse_rates.improved()


def test_a_result_recorded_before_the_share_existed_still_decodes() -> None:
    from temporalio.converter import DataConverter

    old = {"before_tickets": 4, "after_tickets": 1, "before_repeat_rate": 0.5, "after_repeat_rate": 0.0,
           "before_reopen_rate": 0.0, "after_reopen_rate": 0.0}
    payload = DataConverter.default.payload_converter.to_payloads([old])
    [decoded] = DataConverter.default.payload_converter.from_payloads(payload, [EffectResult])
    assert decoded == EffectResult(4, 1, 0.5, 0.0, 0.0, 0.0) and decoded.improved()


def test_on_the_planted_history_the_verification_counts_what_the_proposal_estimated(history_db: str) -> None:
    """Over the analysis window, the meeting's measure of the planted cross-department problem gives the
    proposal's own figures (test_proposals.py: 15.0 % of failures, 90 tickets)."""
    from activities.analysis import AnalysisActivities
    from readmodel.analysis import failure_rows
    from readmodel.db import session_scope
    from settings import ROOT
    from tests.analysis.conftest import RUN_KEY

    since, until = AnalysisActivities(history_db, ROOT / "config" / "policy.toml")._window(RUN_KEY)
    with session_scope(history_db) as session:
        rows, _ = failure_rows(session, since=since, until=until)
    figures = problem_share([FailureRow(*r) for r in rows], DEPTS, "follow_up", "handoff_gap")
    assert (figures.matching, figures.failures, figures.share) == (90, 600, 15.0)
