"""Customer self-service with the per-ticket token: the ticket page, and reply as JSON or a form.

The JSON routes for confirm-and-rate and reopen are the existing token routes of
``api/routes/tickets.py``; the page's forms send the same commands. A wrong token and an unknown
ticket get the same answer, so ids cannot be probed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.customer_page import CustomerPage, VoucherLine, page_url, render_ticket
from api.deps import CustomerDep, PolicyDep, SessionDep, SettingsDep, TemporalDep, TicketId
from api.i18n import negotiate
from api.routes.feedback import FORM_ERRORS, read_form
from api.routes.records import kept_text
from api.schemas import BODY, WORKFLOW, page_problems, problems
from api.schemas.feedback import CustomerReplyBody
from api.tokens import check_customer_token
from api.workflows import TICKETS
from domain.json_limits import has_lone_surrogate
from domain.money import format_money
from domain.policy import Policy
from domain.tickets import ActorInput, ConfirmInput, NoteInput, TicketView
from readmodel import vouchers as voucher_rows
from services.service_record import read_record
from settings import Settings
from workflows.ticket import TicketWorkflow

router = APIRouter(tags=["customer"])
NOT_FOUND = "no ticket with this id and token"
ACTIONS = ("reply", "confirm", "reopen")
COMMAND_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["token"], "properties": {
        "token": {"type": "string"}, "lang": {"type": "string"}, "tz": {"type": "string"},
        "text": {"type": "string"}, "rating": {"type": "string"}, "comment": {"type": "string"},
        "reason": {"type": "string"}}}}}}}


class CustomerView(BaseModel):
    ticket: dict[str, Any]
    replies: list[dict[str, str]]
    vouchers: list[dict[str, Any]]


def _zone(policy: Policy, tz: str | None) -> tuple[ZoneInfo, str]:
    name = tz or policy.calendar.timezone
    try:
        if len(name) > 64 or has_lone_surrogate(name) or "\x00" in name:
            raise ValueError(name)
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["query", "tz"], "type": "value_error",
            "msg": "not a known time zone (e.g. Asia/Shanghai)"}]) from exc


def _replies(session: SessionDep, settings: Settings, ticket_id: str) -> list[tuple[str, str]]:
    """Texts the desk sent to the customer (first response replies), oldest first."""
    record = read_record(session, settings, ticket_id)
    out = []
    for entry in record.entries if record else []:
        for text in entry["texts"]:
            if text["kind"] == "reply" and text["text"]:
                out.append((entry["at"], text["text"]))
    return out


def _vouchers(session: SessionDep, policy: Policy, ticket_id: str, lang: str) -> list[VoucherLine]:
    now = datetime.now(UTC)
    lines = []
    for row in voucher_rows.vouchers_of_ticket(session=session, ticket_id=ticket_id):
        expires = datetime.fromtimestamp(row.expires_at, UTC) if row.expires_at else None
        state = "redeemed" if row.redeemed else ("expired" if expires and expires < now else "valid")
        lines.append(VoucherLine(format_money(row.amount, row.currency or policy.compensation.currency, lang),
                                 state, expires))
    return lines


async def _checked(client: Client, settings: Settings, ticket_id: str, token: str | None) -> TicketView:
    try:
        view = await TICKETS.state(client, ticket_id)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from exc
        raise
    if not check_customer_token(settings, ticket_id, token, view.token_version):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return view


async def _page(session: SessionDep, settings: Settings, policy: Policy, view: TicketView, token: str, lang: str,
                zone: tuple[ZoneInfo, str], message: str = "", failed: bool = False) -> CustomerPage:
    replies = await run_in_threadpool(_replies, session, settings, view.ticket_id)
    vouchers = await run_in_threadpool(_vouchers, session, policy, view.ticket_id, lang)
    return CustomerPage(lang, zone[0], zone[1], token, view, replies, vouchers, message, failed)


@router.get("/my/tickets/{ticket_id}", response_class=HTMLResponse, responses=page_problems(404, 503))
async def ticket_page(ticket_id: TicketId, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
                      client: TemporalDep, token: Annotated[str | None, Query(max_length=128)] = None,
                      lang: Annotated[str | None, Query(max_length=8)] = None,
                      tz: Annotated[str | None, Query(max_length=64)] = None,
                      done: Annotated[str | None, Query(max_length=16)] = None,
                      accept_language: Annotated[str | None, Header(max_length=512)] = None) -> HTMLResponse:
    """The customer's ticket page: status, deadlines in their time zone, replies, vouchers, commands."""
    language = negotiate(lang, accept_language)
    zone = _zone(policy, tz)
    view = await _checked(client, settings, ticket_id, token)
    message = ""
    if done in ACTIONS:
        message = {"zh": "已完成。", "en": "Done."}[language]
    page = await _page(session, settings, policy, view, token or "", language, zone, message)
    return HTMLResponse(render_ticket(page))


def _text(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit or "\x00" in text or has_lone_surrogate(text):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["body", name], "type": "value_error",
            "msg": f"at most {limit} characters, no NUL or lone surrogates"}])
    return text


async def _reply(client: Client, session: SessionDep, settings: Settings, ticket_id: str, text: str,
                 view: TicketView) -> TicketView:
    """A customer's reply: resumes a paused ticket, else a customer note; its text kept sealed."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=text, kind="note", actor="customer") as digest:
        if view.status == "waiting_on_customer":
            result: TicketView = await TICKETS.update(client, ticket_id, TicketWorkflow.customer_replied,
                                                      ActorInput("customer", digest))
        else:
            result = await TICKETS.update(client, ticket_id, TicketWorkflow.add_note, NoteInput(digest, "customer"))
        return result


@router.post("/my/tickets/{ticket_id}/{action}", response_class=HTMLResponse, status_code=status.HTTP_303_SEE_OTHER,
             responses={**page_problems(404, 413, 503), **FORM_ERRORS,
                        303: {"description": "done: back to the ticket's page"},
                        409: {"content": {"text/html": {"schema": {"type": "string"}}},
                              "description": "the page again, saying what was refused"}},
             openapi_extra=COMMAND_BODY)
async def ticket_command(ticket_id: TicketId, action: str, request: Request, session: SessionDep,
                         settings: SettingsDep, policy: PolicyDep, client: TemporalDep) -> Response:
    """The page's forms: reply, confirm with a rating and comment, ask to reopen; back to the page."""
    if action not in ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such command")
    form = await read_form(request)
    token = _text(form, "token", 128)
    language = negotiate(_text(form, "lang", 8), request.headers.get("accept-language"))
    zone = _zone(policy, _text(form, "tz", 64) or None)
    view = await _checked(client, settings, ticket_id, token)
    try:
        if action == "reply":
            text = _text(form, "text", 5000)
            if not text:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
                    "loc": ["body", "text"], "type": "missing", "msg": "write a reply"}])
            await _reply(client, session, settings, ticket_id, text, view)
        elif action == "confirm":
            rating = _text(form, "rating", 1)
            if rating not in ("1", "2", "3", "4", "5"):
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
                    "loc": ["body", "rating"], "type": "value_error", "msg": "a rating from 1 to 5"}])
            async with kept_text(session, settings, ticket_id=ticket_id, text=_text(form, "comment", 5000),
                                 kind="rating_comment", actor="customer") as digest:
                await TICKETS.update(client, ticket_id, TicketWorkflow.confirm,
                                     ConfirmInput(int(rating), comment_hash=digest))
        else:
            async with kept_text(session, settings, ticket_id=ticket_id, text=_text(form, "reason", 500),
                                 kind="reason", actor="customer") as digest:
                await TICKETS.update(client, ticket_id, TicketWorkflow.reopen, ActorInput("customer", digest))
    except HTTPException as exc:
        if exc.status_code != status.HTTP_409_CONFLICT:
            raise
        page = await _page(session, settings, policy, view, token, language, zone, str(exc.detail), failed=True)
        return HTMLResponse(render_ticket(page), status_code=status.HTTP_409_CONFLICT)
    return RedirectResponse(page_url(ticket_id, token, language, zone[1], done=action),
                            status_code=status.HTTP_303_SEE_OTHER)


# ------------------------------------------------------------------ JSON for the app


@router.get("/tickets/{ticket_id}/customer-view", response_model=CustomerView,
            responses=problems(401, 403, 404, 503))
async def customer_view(ticket_id: TicketId, customer: CustomerDep, session: SessionDep, settings: SettingsDep,
                        policy: PolicyDep, client: TemporalDep,
                        lang: Annotated[str | None, Query(max_length=8)] = None) -> CustomerView:
    """What the customer sees (customer token): status, clocks, replies sent to them, vouchers."""
    view = await TICKETS.state(client, ticket_id)
    language = negotiate(lang, None)
    replies = await run_in_threadpool(_replies, session, settings, ticket_id)
    vouchers = await run_in_threadpool(_vouchers, session, policy, ticket_id, language)
    return CustomerView(
        ticket={"ticket_id": view.ticket_id, "status": view.status, "priority": view.priority,
                "created_at": view.created_at, "rating": view.rating,
                "clocks": [{"name": c.name, "deadline": c.deadline, "outcome": c.outcome} for c in view.clocks]},
        replies=[{"at": at, "text": text} for at, text in replies],
        vouchers=[{"amount": v.amount, "state": v.state,
                   "expires_at": v.expires_at.isoformat() if v.expires_at else None} for v in vouchers])


@router.post("/tickets/{ticket_id}/customer-reply", response_model=TicketView,
             responses=problems(401, 403, *BODY, *WORKFLOW))
async def customer_reply(ticket_id: TicketId, customer: CustomerDep, body: CustomerReplyBody, session: SessionDep,
                         settings: SettingsDep, client: TemporalDep) -> TicketView:
    """The customer replies (customer token): a paused ticket resumes; the text is kept sealed."""
    view = await TICKETS.state(client, ticket_id)
    return await _reply(client, session, settings, ticket_id, body.text, view)
