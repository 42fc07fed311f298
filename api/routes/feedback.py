"""Feedback from every channel (rule 14): the public JSON endpoint and page, branch staff on a
customer's behalf, and the page and status that follow a feedback with its customer token.

Each submission is stored before anything else (``services/feedback.py``) and triaged by its own
workflow (``workflows/feedback.py``). Public submissions are limited per client address and per
customer (contact) with 429 and ``Retry-After``; bodies are bounded by the API's body limit and the
policy's ``max_text_chars``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.deps import AgentDep, Caller, PolicyDep, SessionDep, SettingsDep, require_roles
from api.feedback_page import follow_page, form_page, receipt_page
from api.i18n import negotiate
from api.ratelimit import keyed_limiter
from api.schemas import AUTH, BODY, ID_PATTERN, page_problems, problems
from api.schemas.feedback import (
    CONTACT_PATTERN,
    BranchFeedbackBody,
    FeedbackBody,
    FeedbackErasureView,
    FeedbackReceipt,
    FeedbackStatus,
)
from api.schemas.records import ErasureBody
from api.tokens import check_customer_token, customer_token
from domain.encoding import format_time
from domain.json_limits import has_lone_surrogate
from readmodel import feedback as store
from readmodel.feedback_models import Feedback
from services.feedback import (
    NotTriagedYet,
    Stored,
    Submission,
    customer_key,
    erase_submission,
    start_triage,
    store_submission,
)
from settings import Settings

router = APIRouter(tags=["feedback"])
FeedbackRef = Annotated[str, Path(pattern=ID_PATTERN, description="feedback reference")]
EraserDep = Annotated[Caller, Depends(require_roles("quality"))]
PUBLIC = problems(400, 413, 429)
_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_PROBLEM: dict[str, Any] = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


FORM_ERRORS: dict[int | str, dict[str, Any]] = {
    415: {"description": "not sent as application/x-www-form-urlencoded", "content": _PROBLEM}}
# The page's form answers pages, also when it refuses.
FORM_ANSWERS: dict[int | str, dict[str, Any]] = {
    **page_problems(413, 429), **FORM_ERRORS,
    422: {"description": "the form again, naming what to fix", "content": _HTML},
}
FORM_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
        "text": {"type": "string"}, "contact": {"type": "string"}, "kind": {"type": "string"},
        "lang": {"type": "string"}}}}}}}
KINDS = ("complaint", "request", "suggestion")
NOT_FOUND = "no feedback with this reference and token"


def _temporal(request: Request) -> Client | None:
    client: Client | None = getattr(request.app.state, "temporal", None)
    return client


def _limit(settings: Settings, request: Request, contact: str) -> None:
    """429 with Retry-After once the client address or the customer is over its limit."""
    client = request.client
    address = client.host if client else "unknown"
    checks = ((settings.feedback_rate_limit, "feedback-address", address, f"client address {address}"),
              (settings.feedback_customer_rate_limit, "feedback-customer", customer_key(settings, contact),
               "this contact"))
    for limit, namespace, key, who in checks:
        retry = keyed_limiter(limit).retry_after(namespace, key)
        if retry is not None:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                                f"too much feedback from {who}: at most {limit}; retry in {retry} s",
                                headers={"Retry-After": str(retry)})


def too_long(text: str, limit: int, field: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
        "loc": ["body", field], "type": "string_too_long", "msg": f"at most {limit} characters ({len(text)} given)"}])


def follow_url(settings: Settings, ref: str, token: str, lang: str = "") -> str:
    params = {"token": token, **({"lang": lang} if lang else {})}
    return f"{settings.public_base_url.rstrip('/')}/feedback/{ref}?{urlencode(params)}"


def receipt_of(settings: Settings, stored: Stored, lang: str = "") -> FeedbackReceipt:
    token = customer_token(settings, stored.ticket_id, 1)
    return FeedbackReceipt(reference=stored.ref, duplicate=stored.duplicate,
                           status="duplicate" if stored.duplicate else "received",
                           follow_url=follow_url(settings, stored.ref, token, lang), customer_token=token,
                           received_at=format_time(stored.received_at.astimezone(UTC)))


async def intake(request: Request, session: SessionDep, settings: Settings, policy: PolicyDep,
                  sub: Submission) -> Stored:
    stored = await run_in_threadpool(store_submission, session, settings, policy.feedback, sub)
    if not stored.duplicate:
        await start_triage(_temporal(request), settings, stored.ref)
    return stored


@router.post("/feedback", status_code=status.HTTP_202_ACCEPTED, response_model=FeedbackReceipt, responses=PUBLIC)
async def submit(body: FeedbackBody, request: Request, settings: SettingsDep, policy: PolicyDep,
                 session: SessionDep) -> FeedbackReceipt:
    """Public feedback (app, web site): stored at once, triaged by the policy's rules; no key needed."""
    if len(body.text) > policy.feedback.max_text_chars:
        raise too_long(body.text, policy.feedback.max_text_chars, "text")
    _limit(settings, request, body.contact)
    stored = await intake(request, session, settings, policy, Submission(
        channel=body.channel, text=body.text, contact=body.contact, submitted_by="public", kind=body.kind,
        language=body.language))
    return receipt_of(settings, stored)


@router.post("/feedback/branch", status_code=status.HTTP_202_ACCEPTED, response_model=FeedbackReceipt,
             responses=problems(*AUTH, *BODY))
async def submit_for_customer(body: BranchFeedbackBody, request: Request, caller: AgentDep, settings: SettingsDep,
                              policy: PolicyDep, session: SessionDep) -> FeedbackReceipt:
    """Branch staff record a customer's feedback with their key; the receipt is the customer's to keep."""
    if len(body.text) > policy.feedback.max_text_chars:
        raise too_long(body.text, policy.feedback.max_text_chars, "text")
    stored = await intake(request, session, settings, policy, Submission(
        channel="branch", text=body.text, contact=body.customer_ref, submitted_by=caller.key_id, kind=body.kind,
        language=body.language))
    return receipt_of(settings, stored)


# ------------------------------------------------------------------ the page


@router.get("/feedback", response_class=HTMLResponse, include_in_schema=True)
def feedback_form(policy: PolicyDep, lang: Annotated[str | None, Query(max_length=8)] = None,
                  accept_language: Annotated[str | None, Header(max_length=512)] = None) -> HTMLResponse:
    """The public feedback page (phone first, Chinese and English)."""
    language = negotiate(lang, accept_language)
    return HTMLResponse(form_page(language, max_chars=policy.feedback.max_text_chars))


def _clean(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


async def read_form(request: Request, max_fields: int = 10) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the pages' forms), first value of each field.

    Bytes that are not UTF-8 become lone surrogates, which the field checks refuse by name; the
    body's size is bounded by the API's body limit before this reads it.
    """
    body = (await request.body()).decode("latin-1")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            "send the form as application/x-www-form-urlencoded")
    fields: dict[str, str] = {}
    try:
        pairs = parse_qsl(body, keep_blank_values=True, encoding="utf-8", errors="surrogateescape",
                          max_num_fields=max_fields)
    except ValueError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"more than {max_fields} form fields") from exc
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


@router.post("/feedback/form", response_class=HTMLResponse, status_code=status.HTTP_202_ACCEPTED,
             responses=FORM_ANSWERS, openapi_extra=FORM_BODY)
async def feedback_form_post(request: Request, settings: SettingsDep, policy: PolicyDep,
                             session: SessionDep) -> HTMLResponse:
    """The page's form: the receipt page, or the form again naming what to fix (422)."""
    form = await read_form(request)
    language = negotiate(_clean(form.get("lang")), request.headers.get("accept-language"))
    text, contact, kind = _clean(form.get("text")), _clean(form.get("contact")), _clean(form.get("kind"))
    max_chars = policy.feedback.max_text_chars
    errors = []
    if not text or len(text) > max_chars or "\x00" in text or has_lone_surrogate(text):
        errors.append("text")
    if not re.fullmatch(CONTACT_PATTERN, contact) or has_lone_surrogate(contact):
        errors.append("contact")
    if kind not in KINDS:
        errors.append("kind")
    if errors:
        values = {"text": text if "text" not in errors else text[:max_chars].replace("\x00", ""),
                  "contact": "" if "contact" in errors else contact, "kind": kind}
        values = {k: v.encode("utf-8", "replace").decode("utf-8") for k, v in values.items()}
        return HTMLResponse(form_page(language, max_chars=max_chars, errors=errors, values=values),
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    _limit(settings, request, contact)
    stored = await intake(request, session, settings, policy, Submission(
        channel="web", text=text, contact=contact, submitted_by="public", kind=kind, language=language))
    receipt = receipt_of(settings, stored, language)
    return HTMLResponse(receipt_page(language, ref=receipt.reference, follow_url=receipt.follow_url,
                                     duplicate=receipt.duplicate, received_at=receipt.received_at),
                        status_code=status.HTTP_202_ACCEPTED)


# ------------------------------------------------------------------ following a feedback


def _followed(session: SessionDep, settings: Settings, ref: str, token: str | None) -> Feedback:
    row = store.get_feedback(session=session, ref=ref)
    # An unknown reference answers like a wrong token: nobody can probe which references exist.
    if row is None or not check_customer_token(settings, row.ticket_id, token, 1):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return row


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _received(row: Feedback) -> str:
    return format_time(_utc(row.received_at))


@router.get("/feedback/{ref}", response_class=HTMLResponse, responses=page_problems(404))
def follow(ref: FeedbackRef, session: SessionDep, settings: SettingsDep,
           token: Annotated[str | None, Query(max_length=128)] = None,
           lang: Annotated[str | None, Query(max_length=8)] = None,
           accept_language: Annotated[str | None, Header(max_length=512)] = None) -> HTMLResponse:
    """Where the receipt's link leads: what the feedback became, and its ticket's page."""
    row = _followed(session, settings, ref, token)
    language = negotiate(lang, accept_language)
    ticket_url = None
    if row.outcome == "ticket":
        ticket_url = f"/my/tickets/{row.ticket_id}?{urlencode({'token': token or '', 'lang': language})}"
    return HTMLResponse(follow_page(language, ref=ref, token=token or "", outcome=row.outcome,
                                    received_at=_received(row), ticket_url=ticket_url,
                                    erased=row.erased_at is not None))


@router.get("/feedback/{ref}/status", response_model=FeedbackStatus, responses=problems(404))
def follow_status(ref: FeedbackRef, session: SessionDep, settings: SettingsDep,
                  x_customer_token: Annotated[str | None, Header(alias="X-Customer-Token", max_length=128)] = None
                  ) -> FeedbackStatus:
    """The feedback's status as JSON, for the app (customer token in X-Customer-Token)."""
    row = _followed(session, settings, ref, x_customer_token)
    return FeedbackStatus(reference=row.ref, status=row.status, outcome=row.outcome,
                          channel=row.channel, received_at=_received(row),
                          ticket_id=row.ticket_id if row.outcome == "ticket" else None,
                          erased_at=format_time(_utc(row.erased_at)) if row.erased_at else None)


@router.post("/feedback/{ref}/erasure", response_model=FeedbackErasureView, responses=problems(*AUTH, *BODY, 404, 409))
def erase(ref: FeedbackRef, body: ErasureBody, caller: EraserDep, session: SessionDep,
          settings: SettingsDep) -> FeedbackErasureView:
    """Erase a feedback's words and contact on the customer's request (quality, admin); hashes and anchored
    evidence stay, the reference still answers with its status."""
    try:
        done = erase_submission(session, settings, ref=ref, request_ref=body.request_ref, erased_by=caller.key_id)
    except NotTriagedYet:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"feedback {ref} is still being triaged; erase it once its status is triaged") from None
    if done is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no feedback {ref}")
    return FeedbackErasureView(reference=done.ref, request_ref=done.request_ref, erased_by=done.erased_by,
                               ticket_texts=done.ticket_texts, at=format_time(_utc(done.at)))
