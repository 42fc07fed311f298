"""Activity of the monthly quality report: compute, store, render and record the month once."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio import activity

from domain.policy import load_policy
from domain.report import ReportMonthInput, ReportPublished
from readmodel import report
from readmodel.db import session_scope
from services.report_pdf import render_pdf


class ReportActivities:
    """Bound to one read model and the policy file (read at each run, so a change applies next month)."""

    def __init__(self, db_url: str, policy_file: Path) -> None:
        self.db_url = db_url
        self.policy_file = policy_file

    @activity.defn(name="publish_quality_report")
    def publish_quality_report(self, input: ReportMonthInput) -> ReportPublished:
        """Publishes the month (idempotent: a retry or a second run returns the month as first published)."""
        policy = load_policy(self.policy_file)
        with session_scope(self.db_url) as session:
            row = report.publish(session=session, month=input.month, top_problems=policy.report.top_problems,
                                 trend_months=policy.report.trend_months, render_pdf=render_pdf)
            total = json.loads(row.report)["figures"]["tickets"]["total"]
            return ReportPublished(month=row.month, report_hash=row.report_hash, record_hash=row.record_hash,
                                   milestone_leaf=row.milestone_leaf, tickets=int(total))
