"""Root-cause analysis results and the joint meetings it proposes (quality department, supervisors)."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Query, Request, status

from api import commands
from api.deps import PolicyDep, QualityDep, SessionDep, SettingsDep, get_temporal
from api.schemas import AUTH, BODY, problems
from api.schemas.analysis import AnalysisView, ProblemKey, ProposalList, ProposalView, RejectBody, RunKey
from domain.governance import MeetingView
from domain.milestones import format_time
from readmodel import analysis as store
from readmodel.analysis_models import AnalysisRun, MeetingProposal, ProblemShare

router = APIRouter(prefix="/analysis", tags=["analysis"])


def run_view(row: AnalysisRun) -> AnalysisView:
    result = json.loads(row.result)
    return AnalysisView(run_key=row.run_key, as_of=result["as_of"], tickets=row.tickets, failures=row.failures,
                        threshold_percent=result["threshold_percent"],
                        flagged_steps=[s for s in row.flagged_steps.split(",") if s],
                        reopen_rate=result["reopen_rate"], repeat_rate=result["repeat_rate"],
                        sampled_texts=result["sampled_texts"], shares=result["shares"], problems=result["problems"])


@router.get("/runs/latest", response_model=AnalysisView, responses=problems(*AUTH, 404))
def latest_run(session: SessionDep, caller: QualityDep) -> AnalysisView:
    """The newest daily analysis: failure shares, flagged steps, the priority list of recurring problems."""
    row = store.get_run(session)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no analysis has run yet")
    return run_view(row)


@router.get("/runs/{run_key}", response_model=AnalysisView, responses=problems(*AUTH, 404))
def get_run(run_key: RunKey, session: SessionDep, caller: QualityDep) -> AnalysisView:
    """The analysis of one day."""
    row = store.get_run(session, run_key)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no analysis ran on {run_key}")
    return run_view(row)


def proposal_view(p: MeetingProposal, history: list[ProblemShare] | None = None) -> ProposalView:
    figures = [{"run_key": h.run_key, "share_of_failures": h.share_of_failures, "tickets": h.tickets,
                "recent": h.recent} for h in history or []]
    return ProposalView(share_history=figures, problem_key=p.problem_key, title=p.title,
                        departments=json.loads(p.departments),
                        category=p.category, step=p.step, root_cause=p.root_cause, evidence=json.loads(p.evidence),
                        ticket_ids=json.loads(p.ticket_ids), status=p.status, run_key=p.run_key,
                        proposed_at=format_time(p.proposed_at), meeting_id=p.meeting_id, accepted_by=p.accepted_by,
                        rejected_by=p.rejected_by, reject_reason=p.reject_reason)


@router.get("/proposals", response_model=ProposalList, responses=problems(*AUTH))
def list_proposals(session: SessionDep, caller: QualityDep,
                   status_: str | None = Query(None, alias="status",
                                                pattern="^(proposed|accepted|rejected)$")) -> ProposalList:
    """Systemic problems proposed to the quality committee for a joint meeting, newest first."""
    return ProposalList(data=[proposal_view(p) for p in store.list_proposals(session, status=status_)])


@router.get("/proposals/{problem_key}", response_model=ProposalView, responses=problems(*AUTH, 404))
def get_proposal(problem_key: ProblemKey, session: SessionDep, caller: QualityDep) -> ProposalView:
    """One proposal with its evidence."""
    row = store.get_proposal(session, problem_key)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no proposal {problem_key}")
    return proposal_view(row, store.share_history(session, problem_key))


@router.post("/proposals/{problem_key}/accept", status_code=status.HTTP_201_CREATED, response_model=MeetingView,
             responses=problems(*AUTH, 404, 409, 503))
async def accept_proposal(problem_key: ProblemKey, session: SessionDep, caller: QualityDep, settings: SettingsDep,
                          policy: PolicyDep, request: Request) -> MeetingView:
    """The quality committee accepts: the 72-hour joint meeting starts with the problem's tickets linked.

    The meeting id is derived from the problem key, so a second acceptance (or a retry) cannot open a
    second meeting: it answers 409 naming the meeting.
    """
    return await commands.accept_proposal(session, settings, policy, lambda: get_temporal(request), problem_key,
                                          caller.key_id)


@router.post("/proposals/{problem_key}/reject", response_model=ProposalView,
             responses=problems(*AUTH, *BODY, 404, 409))
def reject_proposal(problem_key: ProblemKey, body: RejectBody, session: SessionDep,
                    caller: QualityDep) -> ProposalView:
    """The quality committee turns the proposal down, with its reason; no meeting starts (decision 020)."""
    return proposal_view(commands.reject_proposal(session, problem_key, caller.key_id, body.reason))
