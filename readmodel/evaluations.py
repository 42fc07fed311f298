"""Mystery-shopping evaluations: filed once each with their milestone, summarised per target and month."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

from domain.tickets import MilestoneView
from readmodel.crud import append_milestones
from readmodel.evaluation_models import Evaluation
from readmodel.paging import page


def file_evaluation(*, session: Session, row: Evaluation, milestone: MilestoneView, subject: str) -> None:
    """Stores the evaluation and its milestone in one commit."""
    session.add(row)
    append_milestones(session=session, subject=subject, milestones=[milestone])
    session.commit()


def get_evaluation(*, session: Session, evaluation_id: str) -> Evaluation | None:
    return session.get(Evaluation, evaluation_id)


def list_evaluations(*, session: Session, month: str | None, target: str | None, offset: int,
                     limit: int) -> tuple[list[Evaluation], int]:
    filters: list[Any] = []
    if month is not None:
        filters.append(Evaluation.month == month)
    if target is not None:
        filters.append(Evaluation.target == target)
    return page(session, Evaluation, filters, [col(Evaluation.visited_at).desc(), col(Evaluation.id)],
                offset=offset, limit=limit)


def month_summary(*, session: Session, month: str) -> list[dict[str, Any]]:
    """Per target of the month: how many evaluations and the mean score of each criterion."""
    sums: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for e in session.exec(select(Evaluation).where(Evaluation.month == month)):
        key = (e.target_kind, e.target)
        counts[key] += 1
        for criterion, score in json.loads(e.scores).items():
            sums[key][criterion] += score
    return [{"target_kind": kind, "target": target, "evaluations": counts[(kind, target)],
             "mean_scores": {c: round(v / counts[(kind, target)], 3) for c, v in sorted(sums[(kind, target)].items())}}
            for kind, target in sorted(counts)]
