"""The customer observer panel (rule 15): enrolment by the quality department (cap and term from
the policy), an observer's reviews in the quarter's round and their suggestions, which are feedback
of the channel ``observer`` and become tickets with their own, shorter targets."""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, status
from sqlmodel import select

from api.deps import PolicyDep, QualityDep, SessionDep, SettingsDep, TemporalDep
from api.routes.feedback import intake, receipt_of, too_long
from api.schemas import AUTH, BODY, WORKFLOW, problems
from api.schemas.feedback import FeedbackReceipt
from api.schemas.observers import ObserverEnroll, ObserverList, ObserverOut, ReviewBody, RoundOut, SuggestionBody
from api.tokens import observer_token
from api.workflows import WorkflowDoor
from domain.encoding import format_time
from domain.observers import ReviewInput, RoundView
from readmodel import observers
from readmodel.feedback_models import Observer
from services.feedback import Submission, customer_key
from workflows.names import OBSERVER_ROUND_WORKFLOW
from workflows.observers import ObserverRoundWorkflow

router = APIRouter(prefix="/observers", tags=["observers"])
ObserverId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$", description="observer id")]
Quarter = Annotated[str, Path(pattern=r"^\d{4}-Q[1-4]$", description="YYYY-Qn")]
ObserverToken = Annotated[str | None, Header(alias="X-Observer-Token", max_length=128)]
ROUNDS: WorkflowDoor[RoundView] = WorkflowDoor(ObserverRoundWorkflow.run, ObserverRoundWorkflow.state,
                                               OBSERVER_ROUND_WORKFLOW, "observer round")


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _out(row: Observer, token: str | None = None) -> ObserverOut:
    return ObserverOut(observer_id=row.id, name=row.name, term_ends_at=format_time(_utc(row.term_ends_at)),
                       active=row.active and _utc(row.term_ends_at) > datetime.now(UTC), token=token)


def check_observer(observer_id: ObserverId, session: SessionDep, settings: SettingsDep,
                   x_observer_token: ObserverToken = None) -> Observer:
    """401 without a token; 403 for a wrong one, an unknown observer or one whose term is over.

    A dependency, so it is checked before the body is validated.
    """
    if not x_observer_token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-Observer-Token header")
    row = observers.get_observer(session=session, observer_id=observer_id)
    good = hmac.compare_digest(observer_token(settings, observer_id).encode(), x_observer_token.encode())
    if row is None or not good or not _out(row).active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "observer token is not valid for an active observer")
    return row


ObserverDep = Annotated[Observer, Depends(check_observer)]


@router.put("/{observer_id}", response_model=ObserverOut, responses=problems(*AUTH, *BODY, 409))
def enroll(observer_id: ObserverId, body: ObserverEnroll, caller: QualityDep, session: SessionDep,
           settings: SettingsDep, policy: PolicyDep) -> ObserverOut:
    """Enrol a customer on the panel (or renew their term); 409 when the panel is full."""
    now = datetime.now(UTC)
    row = Observer(id=observer_id, customer_key=customer_key(settings, body.contact), name=body.name,
                   enrolled_at=now, term_ends_at=now + timedelta(days=policy.observers.term_days))
    try:
        row = observers.enroll(session=session, observer=row, cap=policy.observers.max_active)
    except observers.PanelFull as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _out(row, observer_token(settings, observer_id))


@router.get("", response_model=ObserverList, responses=problems(*AUTH))
def list_observers(caller: QualityDep, session: SessionDep) -> ObserverList:
    """Every observer, enrolled first first."""
    rows = session.exec(select(Observer).order_by(Observer.enrolled_at)).all()  # type: ignore[arg-type]
    return ObserverList(data=[_out(r) for r in rows], count=len(rows))


@router.post("/{observer_id}/suggestions", status_code=status.HTTP_202_ACCEPTED, response_model=FeedbackReceipt,
             responses=problems(*AUTH, *BODY))
async def suggest(observer_id: ObserverId, row: ObserverDep, body: SuggestionBody, request: Request,
                  session: SessionDep, settings: SettingsDep, policy: PolicyDep) -> FeedbackReceipt:
    """An observer's suggestion: a ticket with the observers' own, shorter response target."""
    if len(body.text) > policy.feedback.max_text_chars:
        raise too_long(body.text, policy.feedback.max_text_chars, "text")
    stored = await intake(request, session, settings, policy, Submission(
        channel="observer", text=body.text, contact=f"observer:{row.id}", submitted_by=f"observer:{row.id}",
        kind="suggestion", observer_id=row.id))
    return receipt_of(settings, stored)


@router.post("/{observer_id}/reviews/{quarter}", response_model=RoundOut,
             responses=problems(*AUTH, *BODY, *WORKFLOW))
async def review(observer_id: ObserverId, quarter: Quarter, row: ObserverDep, body: ReviewBody,
                 client: TemporalDep) -> RoundOut:
    """An invited observer's review of one service process in the quarter's round."""
    view: RoundView = await ROUNDS.update(client, f"observer-round-{quarter}", ObserverRoundWorkflow.submit_review,
                                          ReviewInput(row.id, body.process, body.score, body.comment))
    return _round(view)


@router.get("/rounds/{quarter}", response_model=RoundOut, responses=problems(*AUTH, *WORKFLOW))
async def get_round(quarter: Quarter, caller: QualityDep, client: TemporalDep) -> RoundOut:
    """The quarter's round: who was invited and reminded, who reviewed what, the meeting record."""
    return _round(await ROUNDS.state(client, f"observer-round-{quarter}"))


def _round(view: RoundView) -> RoundOut:
    return RoundOut(quarter=view.quarter, status=view.status, invited=view.invited, reviewed=view.reviewed,
                    reminders=view.reminders, meeting=json.loads(view.meeting) if view.meeting else None)
