"""Activity of the points workflow: close a month of the ledger in the read model."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity

from domain.points import MonthClosed, PointsMonthInput
from domain.policy import load_policy
from readmodel import points
from readmodel.db import session_scope


class PointsActivities:
    """Bound to one read model and the policy file (read at each close, so a change applies next month)."""

    def __init__(self, db_url: str, policy_file: Path) -> None:
        self.db_url = db_url
        self.policy_file = policy_file

    @activity.defn(name="close_points_month")
    def close_points_month(self, input: PointsMonthInput) -> MonthClosed:
        """Accrues, ranks, hashes and records the month once; a retry returns the same closed month."""
        policy = load_policy(self.policy_file)
        with session_scope(self.db_url) as session:
            closed = points.close_month(session=session, month=input.month, rules=policy.points_rules(),
                                        top_percent=policy.performance.points_top_percent)
            ranks, _ = points.ranking(session=session, month=input.month, limit=1_000_000)
            return MonthClosed(month=closed.month, ledger_root=closed.ledger_root, entry_count=closed.entry_count,
                               agent_count=closed.agent_count, flagged=[r.agent for r in ranks if r.flagged],
                               milestone_leaf=closed.milestone_leaf)
