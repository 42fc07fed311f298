"""The observer's pages (rule 15): what ``/observers/{id}/suggestions`` and ``/reviews/{quarter}`` do
for the app, as forms on a phone. The token from the invitation's link is a form field (not a
cookie), so another site cannot post on an observer's behalf; a bad field answers the page again,
422, naming it; a missing or bad token a 404 page naming it; a refused review 409 with the round's reason."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep
from api.feedback_page import receipt_page
from api.i18n import negotiate
from api.observer_page import COMMENT_MAX, observer_page, problem_page, review_done_page
from api.observer_page import word as observer_word
from api.routes.feedback import FORM_ERRORS, intake, read_form, receipt_of
from api.routes.observers import ROUNDS, ObserverId, check_observer
from api.schemas import page_problems
from domain.feedback import feedback_ticket_id
from domain.json_limits import has_lone_surrogate
from domain.observers import ReviewInput
from domain.policy import Policy
from readmodel import observers
from readmodel.feedback_models import Observer
from services.feedback import Submission
from settings import Settings
from workflows.observers import ObserverRoundWorkflow

router = APIRouter(prefix="/observers", tags=["observers"])

_HTML = {"text/html": {"schema": {"type": "string"}}}
_NO_TOKEN = {"description": "no token, or not an active observer's: the page says to use the invitation's link",
             "content": _HTML}
# GET: a bad path or query is FastAPI's JSON 422, as everywhere.
HOME_ANSWERS: dict[int | str, dict[str, Any]] = {404: _NO_TOKEN}
PAGE_ANSWERS: dict[int | str, dict[str, Any]] = {
    **page_problems(413, 503), **FORM_ERRORS, 404: _NO_TOKEN,
    # The page again naming a bad form field; a bad observer id in the path is FastAPI's JSON list.
    422: {"description": "the page again, naming what to fix (a bad path: the JSON list of bad fields)",
          "content": {**_HTML, "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}},
}
_FIELDS = {"token", "lang", "text", "quarter", "process", "score", "comment"}
FORM_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["token"], "properties": {
        name: {"type": "string"} for name in sorted(_FIELDS)}}}}}}
QUARTER = re.compile(r"\d{4}-Q[1-4]")


def _field(form: dict[str, str], name: str) -> str:
    return form.get(name, "").strip()


def _bad(value: str, limit: int) -> bool:
    return len(value) > limit or "\x00" in value or has_lone_surrogate(value)


def _observer(session: Session, settings: Settings, observer_id: str, token: str, lang: str) -> Observer:
    """The observer whose token this is, or an HTML page answering 404 that names the token.

    404 whatever is wrong (no token, a wrong one, no such observer, a term that is over), as the
    customer's page does: nobody learns from the answer which observers exist.
    """
    try:
        return check_observer(observer_id, session, settings, token or None)
    except HTTPException:
        raise _PageError(status.HTTP_404_NOT_FOUND, problem_page(lang, observer_word("problem.token", lang))) from None


class _PageError(Exception):
    def __init__(self, status_code: int, page: str) -> None:
        super().__init__(status_code)
        self.response = HTMLResponse(page, status_code=status_code)

async def _posted(request: Request, session: Session, settings: Settings,
                  observer_id: str) -> tuple[dict[str, str], str, str, Observer]:
    """A posted form, its token and language, and the observer the token belongs to (or _PageError)."""
    form = await read_form(request)
    token, language = _field(form, "token"), negotiate(_field(form, "lang")[:8], request.headers.get("accept-language"))
    return form, token, language, _observer(session, settings, observer_id, token, language)



def _page(session: Session, policy: Policy, row: Observer, token: str, lang: str, **extra: Any) -> str:
    invited = observers.open_round_of(session=session, observer_id=row.id)
    return observer_page(lang, observer_id=row.id, name=row.name, token=token,
                         max_chars=policy.feedback.max_text_chars, quarter=invited,
                         processes=list(policy.spot_check.checklist.steps), **extra)


@router.get("/{observer_id}/page", response_class=HTMLResponse, responses=HOME_ANSWERS)
def observer_home(observer_id: ObserverId, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
                  token: Annotated[str | None, Query(max_length=128)] = None,
                  lang: Annotated[str | None, Query(max_length=8)] = None,
                  accept_language: Annotated[str | None, Header(max_length=512)] = None) -> HTMLResponse:
    """The observer's page: a suggestion form, and the review form while their round is open."""
    language = negotiate(lang, accept_language)
    try:
        row = _observer(session, settings, observer_id, token or "", language)
    except _PageError as exc:
        return exc.response
    return HTMLResponse(_page(session, policy, row, token or "", language))


@router.post("/{observer_id}/page/suggestion", response_class=HTMLResponse, status_code=status.HTTP_202_ACCEPTED,
             responses=PAGE_ANSWERS, openapi_extra=FORM_BODY)
async def observer_suggestion(observer_id: ObserverId, request: Request, session: SessionDep, settings: SettingsDep,
                              policy: PolicyDep) -> HTMLResponse:
    """The suggestion form: the receipt with the suggestion's ticket reference and follow link."""
    try:
        form, token, language, row = await _posted(request, session, settings, observer_id)
    except _PageError as exc:
        return exc.response
    text, max_chars = _field(form, "text"), policy.feedback.max_text_chars
    if not text or _bad(text, max_chars):
        values = {"text": text[:max_chars].replace("\x00", "").encode("utf-8", "replace").decode("utf-8")}
        return HTMLResponse(_page(session, policy, row, token, language, errors=["text"], values=values),
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    stored = await intake(request, session, settings, policy, Submission(
        channel="observer", text=text, contact=f"observer:{row.id}", submitted_by=f"observer:{row.id}",
        kind="suggestion", observer_id=row.id, language=language))
    receipt = receipt_of(settings, stored, language)
    return HTMLResponse(receipt_page(language, ref=receipt.reference, follow_url=receipt.follow_url,
                                     duplicate=receipt.duplicate, received_at=receipt.received_at,
                                     ticket_id=feedback_ticket_id(receipt.reference),
                                     path=f"/observers/{row.id}/page"), status_code=status.HTTP_202_ACCEPTED)


@router.post("/{observer_id}/page/review", response_class=HTMLResponse, responses={
    **PAGE_ANSWERS, 409: {"description": "the round refused it (not invited, closed, already reviewed)",
                          "content": _HTML}}, openapi_extra=FORM_BODY)
async def observer_review(observer_id: ObserverId, request: Request, session: SessionDep, settings: SettingsDep,
                          policy: PolicyDep, client: TemporalDep) -> HTMLResponse:
    """The review form: the observer's review of one service process in their quarter's round."""
    try:
        form, token, language, row = await _posted(request, session, settings, observer_id)
    except _PageError as exc:
        return exc.response
    quarter, process, score, comment = (_field(form, k) for k in ("quarter", "process", "score", "comment"))
    errors = [name for name, bad in (
        ("quarter", not QUARTER.fullmatch(quarter)),
        ("process", process not in policy.spot_check.checklist.steps),
        ("score", score not in ("1", "2", "3", "4", "5")),
        ("comment", _bad(comment, COMMENT_MAX))) if bad]
    if errors:
        values = {"process": process if "process" not in errors else "", "score": score,
                  "comment": "" if "comment" in errors else comment}
        return HTMLResponse(_page(session, policy, row, token, language, errors=errors, values=values),
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        await ROUNDS.update(client, f"observer-round-{quarter}", ObserverRoundWorkflow.submit_review,
                            ReviewInput(row.id, process, int(score), comment))
    except HTTPException as exc:
        if exc.status_code not in (status.HTTP_404_NOT_FOUND, status.HTTP_409_CONFLICT):
            raise
        reason = observer_word("review.refused", language, reason=str(exc.detail))
        return HTMLResponse(_page(session, policy, row, token, language, message=reason),
                            status_code=status.HTTP_409_CONFLICT)
    return HTMLResponse(review_done_page(language, observer_id=row.id, token=token, process=process))
