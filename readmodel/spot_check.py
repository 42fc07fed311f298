"""Spot checks in the read model: a month's population, its recorded draw, the review tasks."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from domain.encoding import format_time
from domain.milestones import new_milestone
from domain.points import month_bounds
from domain.spot_check import (
    CLOSING_KINDS,
    SEED_RULE,
    Candidate,
    RecordSpotCheckInput,
    ReviewTask,
    SampleDrawn,
    SampleRequest,
    canonical,
    describe_ticket,
    list_hash,
    population_line,
    spot_check_subject,
    stratum_counts,
)
from domain.spot_check import (
    select as draw_sample,
)
from domain.tickets import MilestoneView
from readmodel.crud import append_milestones
from readmodel.models import Milestone
from readmodel.spot_check_models import SpotCheckSample, SpotCheckTask

SAMPLED = "spot_check_sampled"


def population(*, session: Session, month: str, low_rating_max: int) -> list[Candidate]:
    """Tickets first closed in the month, each described by its chain up to that closing."""
    start, end = (format_time(t) for t in month_bounds(month))
    first_close = (select(Milestone.subject, func.min(Milestone.seq).label("seq"))
                   .where(col(Milestone.kind).in_(CLOSING_KINDS)).group_by(col(Milestone.subject)).subquery())
    closed = session.exec(select(Milestone.subject, Milestone.seq)
                          .join(first_close, (col(Milestone.subject) == first_close.c.subject)
                                & (col(Milestone.seq) == first_close.c.seq))
                          .where(Milestone.at >= start, Milestone.at < end)).all()
    upto = dict(closed)
    chains: dict[str, list[tuple[str, dict[str, str], str]]] = defaultdict(list)
    ids = sorted(upto)
    for i in range(0, len(ids), 500):
        rows = session.exec(select(Milestone).where(col(Milestone.subject).in_(ids[i:i + 500]))
                            .order_by(col(Milestone.subject), col(Milestone.seq)))
        for m in rows:
            if m.seq <= upto[m.subject]:
                chains[m.subject].append((m.kind, json.loads(m.data), m.leaf))
    return [describe_ticket(t, chains[t], low_rating_max) for t in ids]


def _view(m: Milestone) -> MilestoneView:
    return MilestoneView(seq=m.seq, kind=m.kind, at=m.at, data=json.loads(m.data), prev=m.prev, leaf=m.leaf)


def draw_and_record(*, session: Session, request: SampleRequest) -> SampleDrawn:
    """Draws the month's sample from the seed and records it with its milestone, once."""
    subject = spot_check_subject(request.month)
    if session.get(SpotCheckSample, request.month) is None:
        policy = request.policy
        people = population(session=session, month=request.month, low_rating_max=policy.low_rating_max)
        chosen = draw_sample(people, request.seed.hash, policy)
        strata = stratum_counts(people, chosen)
        data = {"month": request.month, "rule": SEED_RULE, "not_before": request.not_before,
                "seed_block": str(request.seed.number), "seed_hash": request.seed.hash,
                "seed_timestamp": str(request.seed.timestamp), "population": str(len(people)),
                "population_hash": list_hash(population_line(c) for c in people), "sampled": str(len(chosen)),
                "sample_hash": list_hash(c.ticket_id for c in chosen), "strata": canonical(strata),
                "abnormal_weight": f"{policy.abnormal_weight:g}", "low_rating_max": str(policy.low_rating_max),
                "percent": f"{policy.min_percent:g}-{policy.max_percent:g}"}
        m = new_milestone(subject, None, SAMPLED, datetime.fromisoformat(request.not_before.replace("Z", "+00:00")),
                          data)
        append_milestones(session=session, subject=subject, milestones=[MilestoneView(
            seq=m.seq, kind=m.kind, at=format_time(m.at), data=m.data, prev=m.prev, leaf=m.leaf)])
        for i, c in enumerate(chosen):
            session.add(SpotCheckTask(month=request.month, ticket_id=c.ticket_id, stratum=c.stratum,
                                      abnormal=c.abnormal, ticket_leaf=c.last_leaf,
                                      reviewer=policy.reviewers[i % len(policy.reviewers)]))
        session.add(SpotCheckSample(
            month=request.month, not_before=request.not_before, seed_block=request.seed.number,
            seed_hash=request.seed.hash, seed_timestamp=request.seed.timestamp, population_count=len(people),
            sample_count=len(chosen), population_hash=data["population_hash"], sample_hash=data["sample_hash"],
            strata=data["strata"], milestone_leaf=m.leaf, drawn_at=datetime.now(UTC)))
        session.commit()
    first = session.exec(select(Milestone).where(Milestone.subject == subject, Milestone.seq == 0)).one()
    return SampleDrawn(tasks=[_task(t) for t in tasks_of(session=session, month=request.month)], milestone=_view(first))


def _task(t: SpotCheckTask) -> ReviewTask:
    return ReviewTask(ticket_id=t.ticket_id, stratum=t.stratum, abnormal=t.abnormal, ticket_leaf=t.ticket_leaf,
                      reviewer=t.reviewer, due_at=t.due_at, status=t.status, reminded=t.reminded,
                      escalated=t.escalated, findings=t.findings)


def tasks_of(*, session: Session, month: str, reviewer: str | None = None) -> list[SpotCheckTask]:
    query = select(SpotCheckTask).where(SpotCheckTask.month == month)
    if reviewer is not None:
        query = query.where(SpotCheckTask.reviewer == reviewer)
    return list(session.exec(query.order_by(col(SpotCheckTask.ticket_id))).all())


def record_spot_check(*, session: Session, record: RecordSpotCheckInput) -> None:
    """Updates the tasks and the summary and appends milestones; a replayed call changes nothing."""
    for task in record.tasks:
        row = session.get(SpotCheckTask, (record.month, task.ticket_id))
        if row is None:
            continue
        row.due_at, row.status, row.reminded = task.due_at, task.status, task.reminded
        row.escalated, row.findings, row.reviewer = task.escalated, task.findings, task.reviewer
        session.add(row)
    sample = session.get(SpotCheckSample, record.month)
    if sample is not None and record.summary:
        sample.summary = record.summary
        session.add(sample)
    append_milestones(session=session, subject=spot_check_subject(record.month), milestones=record.milestones)
    session.commit()


def get_sample(*, session: Session, month: str) -> SpotCheckSample | None:
    return session.get(SpotCheckSample, month)
