"""Activities of the daily analysis: root causes and proposals, then the case library's new cases.

Both are idempotent: a run is stored under its run key (a retry replaces it), a proposal once per
problem key, a case once per id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio import activity

from analysis.run import analyse, params_of
from domain.analysis import AnalysisOutcome, AnalysisRequest
from domain.policy import load_policy
from readmodel import analysis as store
from readmodel import cases as case_store
from readmodel.db import session_scope


class AnalysisActivities:
    def __init__(self, db_url: str, policy_file: Path) -> None:
        self.db_url = db_url
        self.policy_file = policy_file

    def _window(self, run_key: str) -> tuple[datetime, datetime]:
        """From ``lookback_days`` before the run's day to the end of that day (UTC)."""
        policy = load_policy(self.policy_file)
        end = datetime.fromisoformat(run_key).replace(tzinfo=UTC) + timedelta(days=1)
        return end - timedelta(days=policy.analysis.lookback_days), end

    @activity.defn
    def analyse_root_causes(self, req: AnalysisRequest) -> AnalysisOutcome:
        """Shares, recurring problems and the priority list, stored; systemic problems proposed once."""
        policy = load_policy(self.policy_file)
        since, end = self._window(req.run_key)
        with session_scope(self.db_url) as session:
            rows, totals = store.failure_rows(session, since=since)
        activity.heartbeat("rows read")
        result, proposals = analyse(rows, totals, params_of(policy.analysis), ZoneInfo(policy.calendar.timezone), end)
        flagged = list(result["shares"]["flagged_steps"])
        with session_scope(self.db_url) as session:
            store.store_run(session, run_key=req.run_key, as_of=datetime.fromisoformat(result["as_of"]),
                            tickets=totals["tickets"], failures=len(rows), flagged_steps=flagged, result=result)
            added = store.propose(session, proposals, run_key=req.run_key)
        return AnalysisOutcome(run_key=req.run_key, tickets=totals["tickets"], failures=len(rows),
                               flagged_steps=flagged, problems=len(result["problems"]), proposed=added)

    @activity.defn
    def refresh_case_library(self, req: AnalysisRequest) -> int:
        """New cases from failed resolved tickets with a root cause, findings and meeting solutions."""
        since, _ = self._window(req.run_key)
        with session_scope(self.db_url) as session:
            rows, _ = store.failure_rows(session, since=since)
            cases = case_store.cases_from_records(session, rows)
            return case_store.add_cases(session, cases)
