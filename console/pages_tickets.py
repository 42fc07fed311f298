"""The SLA board (with its live rows), a ticket's page, its QR code and a desk lead's actions.

Actions go through the API's own door to the ticket workflow (``api/workflows.py:TICKETS``) with the
API's body models, so the console obeys exactly the rules the API does: the workflow's validator
refuses what the API would refuse (shown on the page with the workflow's reason).
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import PolicyDep, SessionDep, SettingsDep, TemporalDep
from api.routes.cases import find_similar
from api.routes.certificates import verification_url
from api.routes.records import kept_text
from api.schemas import ID_PATTERN, AssignBody, CancelBody, EscalateBody, PriorityBody
from api.workflows import TICKETS
from certificates.issue import NotCertifiable, build_certificate, signer_for
from console.auth import PREFIX, ConsoleUser, check_csrf, require, signed_in
from console.forms import FormError, checked, one, read_form
from console.live import BoardFeeds, FeedsFull
from console.render import render
from domain.certificate import certificate_digest
from domain.policy import Policy
from domain.tickets import PRIORITIES, ActorInput, AssignInput, EscalateInput, PriorityInput, TicketView
from readmodel import board, vouchers
from readmodel.db import session_scope
from services.service_record import read_record
from workflows.ticket import TicketWorkflow

router = APIRouter(prefix=PREFIX, include_in_schema=False)

READERS = ("agent", "supervisor", "quality", "auditor", "team_head")
# Who may see the texts behind the hashes (the API's record readers).
TEXT_READERS = ("reviewer", "quality", "supervisor")
Reader = Annotated[ConsoleUser, require(*READERS)]
Desk = Annotated[ConsoleUser, require("agent", "supervisor")]
Lead = Annotated[ConsoleUser, require("supervisor")]
TicketId = Annotated[str, Path(pattern=ID_PATTERN, description="ticket id")]
Bucket = Annotated[str, Query(pattern="^(near|breached|paused|open)$")]
Team = Annotated[str, Query(max_length=64, pattern=r"^([a-z0-9][a-z0-9_-]{0,63})?$")]
PriorityFilter = Annotated[str, Query(pattern="^(P[1-4])?$")]


def near_windows(policy: Policy) -> dict[str, tuple[timedelta, timedelta]]:
    """How long before each deadline a ticket is near breach: the share of the target after the
    policy's first warning level (75 %: the last quarter)."""
    level = min(policy.sla.warning_levels, default=75)
    share = (100 - level) / 100
    return {p: (timedelta(seconds=t.first_response_seconds * share), timedelta(seconds=t.resolution_seconds * share))
            for p, t in policy.targets_for("").items()}


def zone_of(user: ConsoleUser, policy: Policy) -> str:
    return user.time_zone or policy.calendar.timezone


class BoardCache:
    """Each view of the board computed at most once per refresh interval, whoever asks.

    Every open tab polls the board; with many open tickets one computation is a scan of them all, so
    clients looking at the same filters share it: a board is at most one refresh interval old, which
    is what a polling page shows anyway. One lock per view: a burst of polls when it expires waits
    for one computation instead of running it once per client. Per process (API instances share
    nothing, each computes its own).
    """

    def __init__(self) -> None:
        self._views: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._guard = threading.Lock()
        # Rendered pieces of a view, by view, language and time zone, with the view they show.
        self._pages: dict[tuple[str, ...], tuple[Any, str]] = {}

    def get(self, key: tuple[str, ...], ttl: float, compute: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self._views.get(key)
            if found is not None and time.monotonic() - found[0] < ttl:
                return found[1]
            value = compute()
            with self._guard:
                if len(self._views) > 1000:  # filters are bounded, but never let it grow without end
                    self._views.clear()
                self._views[key] = (time.monotonic(), value)
            return value


    def rendered(self, key: tuple[str, ...], view: Any, make: Callable[[], str]) -> str:
        """``make()``'s text, made once for each view ``get`` hands out: every client polling the
        same view in the same language and time zone gets the same bytes (rendering the rows,
        with their dates, cost more than the rest of a poll)."""
        found = self._pages.get(key)
        if found is not None and found[0] is view:
            return found[1]
        text = make()
        with self._guard:
            if len(self._pages) > 1000:
                self._pages.clear()
            self._pages[key] = (view, text)
        return text


CACHE = BoardCache()
FEEDS = BoardFeeds()


def _board_context(session: Any, policy: Policy, settings: Any, bucket: str, team: str,
                   priority: str) -> dict[str, Any]:
    def compute() -> tuple[board.Board, datetime]:
        now = datetime.now(UTC)
        return board.sla_board(session=session, now=now, windows=near_windows(policy), bucket=bucket,
                               team=team or None, priority=priority or None), now

    data, now = CACHE.get((bucket, team, priority), settings.console_board_refresh_seconds, compute)
    query = urlencode({"bucket": bucket, "team": team, "priority": priority})
    return {"board": data, "now": now, "bucket": bucket, "team": team, "priority": priority, "query": query,
            "chart": lambda label: chart_of(data, label)}


def chart_of(data: board.Board, label: Callable[[str, str], str]) -> dict[str, Any]:
    """What the board's chart draws (console.js, ECharts): per team, near breach, breached and paused."""
    return {"teams": [t.team for t in data.teams],
            "series": [{"name": label("bucket", b), "data": [getattr(t, b) for t in data.teams]}
                       for b in ("near", "breached", "paused")]}


@router.get("/board")
def board_page(request: Request, user: Reader, session: SessionDep, policy: PolicyDep, settings: SettingsDep,
               bucket: Bucket = "near", team: Team = "", priority: PriorityFilter = "") -> Response:
    teams = CACHE.get(("teams",), settings.console_board_refresh_seconds, lambda: board.teams(session=session))
    return render(request, "board.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  teams=teams, buckets=("near", "breached", "paused", "open"),
                  priorities=PRIORITIES, refresh=settings.console_board_refresh_seconds,
                  **_board_context(session, policy, settings, bucket, team, priority))


def _rows(request: Request, user: ConsoleUser, session: Any, policy: Policy, settings: Any, bucket: str, team: str,
          priority: str) -> str:
    """The board's live part. It shows nothing of the user but the language and time zone, so the
    clients of one view share its rendering."""
    context = _board_context(session, policy, settings, bucket, team, priority)
    zone = zone_of(user, policy)

    def make() -> str:
        return bytes(render(request, "_board_rows.html", language=user.language, time_zone=zone, user=user,
                            **context).body).decode()

    return CACHE.rendered(("rows", bucket, team, priority, user.language, zone), context["board"], make)


@router.get("/board/rows")
def board_rows(request: Request, user: Reader, session: SessionDep, policy: PolicyDep, settings: SettingsDep,
               bucket: Bucket = "near", team: Team = "", priority: PriorityFilter = "") -> Response:
    """The board's live part, for a page that cannot follow the stream below."""
    page = _rows(request, user, session, policy, settings, bucket, team, priority)
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})


@router.get("/board/stream")
async def board_stream(request: Request, policy: PolicyDep, settings: SettingsDep, bucket: Bucket = "near",
                       team: Team = "", priority: PriorityFilter = "") -> Response:
    """The board's live part as server-sent events: every open board of one view gets the same
    update, rendered once (console/live.py). No database session is held while the stream lasts."""
    user = await run_in_threadpool(signed_in, request, settings.db_url, READERS)

    def make() -> str:
        with session_scope(settings.db_url) as session:
            return _rows(request, user, session, policy, settings, bucket, team, priority)

    left = (user.expires_at - datetime.now(UTC)).total_seconds() if user.expires_at else math.inf
    try:
        stream = FEEDS.follow((bucket, team, priority, user.language, zone_of(user, policy)), user.person_id, make,
                              interval=settings.console_board_refresh_seconds,
                              lifetime=min(settings.console_board_stream_seconds, left),
                              max_feeds=settings.console_live_boards,
                              max_per_person=settings.console_live_boards_per_person)
    except FeedsFull as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "30"}) from exc
    # no-transform and X-Accel-Buffering: a proxy must pass each update on as it comes.
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "private, no-store, no-transform", "X-Accel-Buffering": "no"})


def _actions(user: ConsoleUser, view: TicketView) -> list[str]:
    if view.status in ("closed", "cancelled"):
        return []
    actions = ["assign", "escalate", "priority"] if user.may("agent", "supervisor") else []
    return actions + (["cancel"] if user.may("supervisor") else [])


async def _ticket_page(request: Request, user: ConsoleUser, ticket_id: str, client: Any, session: Any,
                       settings: Any, policy: Policy, *, problem: str = "", status_code: int = 200) -> Response:
    view = await TICKETS.state(client, ticket_id)
    record = await run_in_threadpool(read_record, session, settings, ticket_id)
    evidence: dict[int, dict[str, Any]] = {}
    for entry in record.entries if record is not None else []:
        texts = entry["texts"] if user.may(*TEXT_READERS) else []
        evidence[entry["seq"]] = {"status": entry["evidence"]["status"], "texts": texts}
    rows = vouchers.vouchers_of_ticket(session=session, ticket_id=ticket_id)
    # The case library's similar cases, as GET /tickets/{id}/similar-cases finds them.
    similar = await run_in_threadpool(find_similar, session, settings.db_url, ticket_id,
                                      policy.analysis.similar_cases) or []
    anchored = any(e["status"] == "anchored" for e in evidence.values())
    done = request.query_params.get("done", "")
    return render(request, "ticket.html", language=user.language, time_zone=zone_of(user, policy), user=user,
                  status_code=status_code, view=view, evidence=evidence, vouchers=rows, anchored=anchored,
                  now=datetime.now(UTC), actions=_actions(user, view), similar=similar, priorities=PRIORITIES,
                  all_teams=sorted({*policy.departments.heads, view.team}), problem=problem,
                  done=f"done_{done}" if done in ("assign", "escalate", "priority", "cancel") else "")


@router.get("/tickets/{ticket_id}")
async def ticket_page(request: Request, ticket_id: TicketId, user: Reader, client: TemporalDep, session: SessionDep,
                      settings: SettingsDep, policy: PolicyDep) -> Response:
    return await _ticket_page(request, user, ticket_id, client, session, settings, policy)


@router.get("/tickets/{ticket_id}/qr.svg")
def ticket_qr(ticket_id: TicketId, user: Reader, session: SessionDep, settings: SettingsDep) -> Response:
    """The certificate's QR code (the public verification URL plus the certificate digest)."""
    try:
        cert = build_certificate(session=session, ticket_id=ticket_id, signer=signer_for(settings))
    except NotCertifiable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (RuntimeError, ValueError, OSError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "certificates are unavailable") from exc
    buffer = io.BytesIO()
    segno.make(verification_url(settings, ticket_id, certificate_digest(cert)), error="m", micro=False).save(
        buffer, kind="svg", scale=5, border=4, title=ticket_id)
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


async def _act(request: Request, user: ConsoleUser, ticket_id: str, action: str, client: Any, session: Any,
               settings: Any, policy: Policy) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, one(form, "csrf"))
    try:
        if action == "assign":
            body = checked(AssignBody, {"assignee": one(form, "assignee")})
            await TICKETS.update(client, ticket_id, TicketWorkflow.assign, AssignInput(body.assignee, user.actor))
        elif action == "escalate":
            esc = checked(EscalateBody, {"to_team": one(form, "to_team"), "reason": one(form, "reason")})
            async with kept_text(session, settings, ticket_id=ticket_id, text=esc.reason, kind="reason",
                                 actor=user.actor) as digest:
                await TICKETS.update(client, ticket_id, TicketWorkflow.escalate, EscalateInput(
                    esc.to_team, digest, policy.department_head(esc.to_team), user.actor))
        elif action == "priority":
            pri = checked(PriorityBody, {"priority": one(form, "priority"), "reason": one(form, "reason")})
            async with kept_text(session, settings, ticket_id=ticket_id, text=pri.reason, kind="reason",
                                 actor=user.actor) as digest:
                await TICKETS.update(client, ticket_id, TicketWorkflow.change_priority,
                                     PriorityInput(pri.priority, user.actor, digest))
        else:
            cancel = checked(CancelBody, {"reason": one(form, "reason")})
            await TICKETS.update(client, ticket_id, TicketWorkflow.cancel, ActorInput(user.actor, cancel.reason))
    except HTTPException as exc:
        if exc.status_code not in (status.HTTP_409_CONFLICT, status.HTTP_422_UNPROCESSABLE_CONTENT) \
                and not isinstance(exc, FormError):
            raise
        return await _ticket_page(request, user, ticket_id, client, session, settings, policy,
                                  problem=str(exc.detail), status_code=exc.status_code)
    return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?done={action}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/tickets/{ticket_id}/assign")
async def assign(request: Request, ticket_id: TicketId, user: Desk, client: TemporalDep, session: SessionDep,
                 settings: SettingsDep, policy: PolicyDep) -> Response:
    return await _act(request, user, ticket_id, "assign", client, session, settings, policy)


@router.post("/tickets/{ticket_id}/escalate")
async def escalate(request: Request, ticket_id: TicketId, user: Desk, client: TemporalDep, session: SessionDep,
                   settings: SettingsDep, policy: PolicyDep) -> Response:
    return await _act(request, user, ticket_id, "escalate", client, session, settings, policy)


@router.post("/tickets/{ticket_id}/priority")
async def change_priority(request: Request, ticket_id: TicketId, user: Desk, client: TemporalDep,
                          session: SessionDep, settings: SettingsDep, policy: PolicyDep) -> Response:
    return await _act(request, user, ticket_id, "priority", client, session, settings, policy)


@router.post("/tickets/{ticket_id}/cancel")
async def cancel(request: Request, ticket_id: TicketId, user: Lead, client: TemporalDep, session: SessionDep,
                 settings: SettingsDep, policy: PolicyDep) -> Response:
    return await _act(request, user, ticket_id, "cancel", client, session, settings, policy)
