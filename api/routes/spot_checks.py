"""Monthly spot checks (rule 3): the drawn sample, the review tasks, and reviewers' findings."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api import commands
from api.deps import Caller, SessionDep, TemporalDep, TicketId, require_roles
from api.schemas import AUTH, BODY, NO_NUL, WORKFLOW, problems
from api.schemas.spot_checks import FindingsBody, Month, SampleView, TaskList, TaskView
from readmodel import spot_check

router = APIRouter(prefix="/spot-checks", tags=["spot checks"])

ReviewerDep = Annotated[Caller, Depends(require_roles("reviewer", "quality", "supervisor"))]


@router.get("/{month}", response_model=SampleView, responses=problems(*AUTH, 404))
def get_sample(month: Month, caller: ReviewerDep, session: SessionDep) -> SampleView:
    """The month's draw: seed block, population and sample (counts per stratum, hashes), summary."""
    row = spot_check.get_sample(session=session, month=month)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sample drawn for {month} yet")
    return SampleView(month=row.month, not_before=row.not_before, seed_block=row.seed_block, seed_hash=row.seed_hash,
                      population_count=row.population_count, sample_count=row.sample_count,
                      population_hash=row.population_hash, sample_hash=row.sample_hash,
                      strata=json.loads(row.strata), milestone_leaf=row.milestone_leaf,
                      summary=json.loads(row.summary) if row.summary else None)


@router.get("/{month}/tasks", response_model=TaskList, responses=problems(*AUTH, 404))
def list_tasks(month: Month, caller: ReviewerDep, session: SessionDep,
               reviewer: Annotated[str | None, Query(max_length=128, pattern=NO_NUL)] = None) -> TaskList:
    """The month's review tasks (one per sampled ticket), optionally one reviewer's; a reviewer: their own."""
    if caller.role == "reviewer":
        caller.check_person(reviewer or str(caller.person), "review tasks")
        reviewer = caller.person
    if spot_check.get_sample(session=session, month=month) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sample drawn for {month} yet")
    rows = spot_check.tasks_of(session=session, month=month, reviewer=reviewer)
    return TaskList(month=month, data=[TaskView.model_validate(r, from_attributes=True) for r in rows])


@router.post("/{month}/tasks/{ticket_id}/findings", response_model=TaskView, responses=problems(*AUTH, *WORKFLOW,
                                                                                                 *BODY))
async def record_findings(month: Month, ticket_id: TicketId, body: FindingsBody, caller: ReviewerDep,
                          client: TemporalDep, session: SessionDep) -> TaskView:
    """Record the review of a sampled ticket against the policy's checklist (409 if not in the sample,
    already reviewed, or off the checklist); a reviewer records only tasks assigned to them."""
    if caller.role == "reviewer":
        task_row = spot_check.get_task(session=session, month=month, ticket_id=ticket_id)
        caller.check_person(task_row.reviewer if task_row else "", "review tasks")
    task = await commands.record_findings(client, month, ticket_id, caller.person or caller.key_id,
                                          [f.model_dump() for f in body.findings])
    return TaskView(ticket_id=task.ticket_id, stratum=task.stratum, abnormal=task.abnormal, reviewer=task.reviewer,
                    due_at=task.due_at, status=task.status, reminded=task.reminded, escalated=task.escalated,
                    findings=task.findings)
