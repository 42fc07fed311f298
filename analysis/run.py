"""One analysis run over the rows the read model hands in: what is stored, served and proposed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analysis.root_cause import AnalysisParams, FailureRow, find_problems, proposals, shares, to_json


def analyse(rows: list[tuple[Any, ...]], totals: dict[str, int], params: AnalysisParams, tz: ZoneInfo,
            as_of: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's result (shares, priority list, rates) and its proposals to the joint meeting."""
    failures = [FailureRow(*r) for r in rows]
    if failures:
        as_of = min(as_of, max(f.created_at for f in failures))  # trends end where the data ends
    s = shares(failures, params.step_failure_threshold_percent, tz)
    problems = find_problems(failures, params, as_of)
    result = to_json(s, problems)
    tickets = max(totals.get("tickets", 0), 1)
    result.update({
        "as_of": as_of.isoformat(), "tickets": totals.get("tickets", 0), "failures": len(failures),
        "threshold_percent": params.step_failure_threshold_percent,
        "reopen_rate": round(100 * totals.get("reopened", 0) / tickets, 2),
        "repeat_rate": round(100 * totals.get("repeats", 0) / tickets, 2),
        "sampled_texts": min(len(failures), params.cluster_sample)})
    return result, [asdict(p) for p in proposals(problems, params)]


def params_of(policy_analysis: Any) -> AnalysisParams:
    """The pure parameters from the policy's ``[analysis]`` section."""
    a = policy_analysis
    return AnalysisParams(
        step_failure_threshold_percent=a.step_failure_threshold_percent, max_clusters=a.max_clusters,
        cluster_sample=a.cluster_sample, seed=a.seed, trend_days=a.trend_days,
        cross_department_min_share_percent=a.cross_department_min_share_percent,
        recurring_per_window=a.recurring_per_window, max_linked_tickets=a.max_linked_tickets,
        severity=dict(a.severity))
