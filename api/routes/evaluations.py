"""Mystery shopping (rule 4): external evaluators file scored evaluations; quality reads the scores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from api.deps import Caller, PolicyDep, QualityDep, SessionDep, SettingsDep, require_roles
from api.schemas import AUTH, BODY, problems
from api.schemas.evaluations import (
    MONTH_PATTERN,
    TARGET_PATTERN,
    EvaluationBody,
    EvaluationId,
    EvaluationPage,
    EvaluationView,
    MonthScores,
    TargetScores,
)
from domain.policy import Policy
from readmodel import evaluations
from readmodel.evaluation_models import Evaluation
from services.evaluations import EvaluationConflict, evaluation_subject, file_evaluation
from services.service_record import read_record
from settings import Settings

router = APIRouter(prefix="/evaluations", tags=["mystery shopping"])

EvaluatorDep = Annotated[Caller, Depends(require_roles("external_evaluator"))]
FUTURE_SLACK = timedelta(minutes=5)  # clock skew between the evaluator's device and ours


def _invalid(loc: list[str], msg: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", *loc], "type": "value_error", "msg": msg}])


def _check(body: EvaluationBody, policy: Policy) -> None:
    rules = policy.mystery_shopping
    for criterion in body.scores:
        if criterion not in rules.criteria:
            raise _invalid(["scores", criterion], f"unknown criterion; the policy has {sorted(rules.criteria)}")
    for criterion, scale in rules.criteria.items():
        if criterion not in body.scores:
            raise _invalid(["scores", criterion], "missing: every criterion of the policy is scored")
        if not scale.min <= body.scores[criterion] <= scale.max:
            raise _invalid(["scores", criterion], f"must be between {scale.min} and {scale.max}")
    if len(body.notes) > rules.notes_max_chars:
        raise _invalid(["notes"], f"at most {rules.notes_max_chars} characters")
    if body.visited_at > datetime.now(UTC) + FUTURE_SLACK:
        raise _invalid(["visited_at"], "must not be in the future")


def _view(row: Evaluation, session: Any = None, settings: Settings | None = None) -> EvaluationView:
    notes = None
    if session is not None and settings is not None and row.notes_hash:
        record = read_record(session, settings, evaluation_subject(row.id))
        texts = [t for e in (record.entries if record else []) for t in e["texts"]]
        notes = texts[0]["text"] if texts else None
    return EvaluationView(evaluation_id=row.id, target_kind=row.target_kind, target=row.target, month=row.month,
                          visited_at=row.visited_at, scores=json.loads(row.scores), evaluator=row.evaluator,
                          notes=notes, notes_hash=row.notes_hash, leaf=row.leaf)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EvaluationView,
             responses={**problems(*AUTH, *BODY, 409), 200: {"model": EvaluationView, "description": "retried"}})
def file(body: EvaluationBody, caller: EvaluatorDep, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
         response: Response) -> EvaluationView:
    """File a scored evaluation of a team or an agent (external evaluator key)."""
    _check(body, policy)
    try:
        row, created = file_evaluation(session, settings, evaluation_id=body.evaluation_id,
                                       target_kind=body.target_kind, target=body.target, visited_at=body.visited_at,
                                       scores=body.scores, notes=body.notes, evaluator=caller.key_id)
    except EvaluationConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return _view(row)


@router.get("", response_model=EvaluationPage, responses=problems(*AUTH))
def list_evaluations(caller: QualityDep, session: SessionDep,
                     month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
                     target: Annotated[str | None, Query(pattern=TARGET_PATTERN)] = None,
                     offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> EvaluationPage:
    """Evaluations, newest visit first (scores only; open one for its notes)."""
    rows, total = evaluations.list_evaluations(session=session, month=month, target=target, offset=offset,
                                               limit=limit)
    return EvaluationPage(data=[_view(r) for r in rows], count=total, offset=offset, limit=limit)


@router.get("/scores", response_model=MonthScores, responses=problems(*AUTH))
def month_scores(caller: QualityDep, session: SessionDep,
                 month: Annotated[str, Query(pattern=MONTH_PATTERN)]) -> MonthScores:
    """Per team and agent of a month: how many evaluations and the mean of each criterion."""
    return MonthScores(month=month, data=[TargetScores.model_validate(s)
                                          for s in evaluations.month_summary(session=session, month=month)])


@router.get("/{evaluation_id}", response_model=EvaluationView, responses=problems(*AUTH, 404))
def get_evaluation(evaluation_id: EvaluationId, caller: QualityDep, session: SessionDep,
                   settings: SettingsDep) -> EvaluationView:
    """One evaluation with its notes."""
    row = evaluations.get_evaluation(session=session, evaluation_id=evaluation_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no evaluation {evaluation_id}")
    return _view(row, session, settings)
