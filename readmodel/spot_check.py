"""Spot checks in the read model: a month's population, its recorded draw, the review tasks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import exists, insert
from sqlalchemy import select as sa_select
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


# The kinds describe_ticket reads (every other kind leaves a candidate as it is), and those whose data it reads.
DESCRIBING = ("opened", "escalated", "reopened", "repeat_flagged", "sla_breach", *CLOSING_KINDS)
PARSED = ("opened", "escalated", "confirmed")


def population(*, session: Session, month: str, low_rating_max: int) -> list[Candidate]:
    """Tickets first closed in the month, each described by its chain up to that closing.

    One streamed query (closings in the month through the kind/time index, then each such ticket's
    describing milestones in chain order), so a month of a million tickets is one pass, not a
    query per ticket or a row object per milestone.
    """
    start, end = (format_time(t) for t in month_bounds(month))
    m, earlier = Milestone.__table__.c, Milestone.__table__.alias("earlier").c  # type: ignore[attr-defined]
    first_close = (sa_select(m.subject, m.seq.label("upto"))
                   .where(m.kind.in_(CLOSING_KINDS), m.at >= start, m.at < end,
                          ~exists().where(earlier.subject == m.subject, earlier.kind.in_(CLOSING_KINDS),
                                          earlier.seq < m.seq))
                   .subquery())
    rows = session.connection().execute(
        sa_select(m.subject, m.kind, m.data, m.leaf).join(first_close, m.subject == first_close.c.subject)
        .where(m.seq <= first_close.c.upto, m.kind.in_(DESCRIBING)).order_by(m.subject, m.seq)
        .execution_options(yield_per=20_000))  # this statement streams; the session's next ones do not
    out: list[Candidate] = []
    subject: str = ""
    chain: list[tuple[str, dict[str, str], str]] = []
    for ticket, kind, data, leaf in rows:
        if ticket != subject:
            if chain:
                out.append(describe_ticket(subject, chain, low_rating_max))
            subject, chain = ticket, []
        chain.append((kind, json.loads(data) if kind in PARSED else {}, leaf))
    if chain:
        out.append(describe_ticket(subject, chain, low_rating_max))
    return out


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
        if chosen:  # one multi-row insert: a month's sample can be a hundred thousand tasks
            session.connection().execute(insert(SpotCheckTask.__table__), [  # type: ignore[attr-defined]
                {"month": request.month, "ticket_id": c.ticket_id, "stratum": c.stratum, "abnormal": c.abnormal,
                 "ticket_leaf": c.last_leaf, "reviewer": policy.reviewers[i % len(policy.reviewers)]}
                for i, c in enumerate(chosen)])
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


def get_task(*, session: Session, month: str, ticket_id: str) -> SpotCheckTask | None:
    return session.get(SpotCheckTask, (month, ticket_id))


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
