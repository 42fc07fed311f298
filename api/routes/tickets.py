"""Ticket endpoints: create, read, list (read model), and one endpoint per workflow command."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import (
    AdminDep,
    AgentDep,
    CustomerDep,
    PolicyDep,
    SessionDep,
    SettingsDep,
    StaffReaderDep,
    SupervisorDep,
    TemporalDep,
    TicketId,
)
from api.routes.records import kept_text
from api.routes.suppliers import supplier_accepts_tickets
from api.schemas import (
    AUTH,
    BODY,
    NO_NUL,
    WORKFLOW,
    AssignBody,
    CancelBody,
    ConfirmBody,
    EscalateBody,
    NoteBody,
    PolicyBody,
    PriorityBody,
    Problem,
    ReasonBody,
    ResolveBody,
    RespondBody,
    TicketCreate,
    TicketCreated,
    TicketPage,
    TicketRow,
    problems,
)
from api.tokens import customer_token
from api.workflows import TICKETS
from domain.milestones import format_time
from domain.policy import PolicyError, parse_policy
from domain.ticket_views import opening_view
from domain.tickets import (
    ActorInput,
    AssignInput,
    ConfirmInput,
    EscalateInput,
    NoteInput,
    PolicyInput,
    Priority,
    PriorityInput,
    ResolveInput,
    RespondInput,
    RevokeTokenInput,
    TicketView,
)
from readmodel import crud, vouchers
from services.service_record import keep_text
from services.tickets import new_ticket_input, ticket_search
from settings import Settings
from workflows.ticket import TicketWorkflow

router = APIRouter(prefix="/tickets", tags=["tickets"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128,
                                              description="retry-safe creation without a ticket_id")]
# Every command answers the workflow's refusals; those with a body can also be too large.
COMMAND = problems(*AUTH, *WORKFLOW)
BODY_COMMAND = problems(*AUTH, *WORKFLOW, *BODY)


def _request_hash(body: TicketCreate, caller_fingerprint: str = "") -> str:
    """The create request's identity: its body and, since decision 010, the key that sent it.

    Tickets created before then carry the hash without a caller (``caller_fingerprint=""``).
    """
    canonical = json.dumps(body.model_dump(exclude={"ticket_id"}), sort_keys=True, separators=(",", ":"))
    if caller_fingerprint:
        canonical += "\x00" + caller_fingerprint
    return hashlib.sha256(canonical.encode()).hexdigest()


def _now() -> str:
    return format_time(datetime.now(UTC))




async def _state(client: Client, ticket_id: str) -> TicketView:
    return await TICKETS.state(client, ticket_id)


async def _update(client: Client, ticket_id: str, update: Any, arg: Any) -> TicketView:
    view: TicketView = await TICKETS.update(client, ticket_id, update, arg)
    return view


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketCreated,
             responses={**problems(*AUTH, *BODY, 503),
                        200: {"model": TicketCreated, "description": "same request retried"},
                        409: {"model": Problem,
                              "description": "ticket id used by a different request, or the supplier has exited"}})
async def create_ticket(body: TicketCreate, response: Response, caller: AgentDep, settings: SettingsDep,
                        policy: PolicyDep, client: TemporalDep, session: SessionDep,
                        idempotency_key: IdempotencyKey = None) -> TicketCreated:
    """Open a ticket: starts its workflow. Idempotent on `ticket_id` or the Idempotency-Key header."""
    if body.ticket_id:
        ticket_id = body.ticket_id
    elif idempotency_key:
        ticket_id = "T-" + hashlib.sha256(f"{caller.role}\x00{idempotency_key}".encode()).hexdigest()[:20]
    else:
        ticket_id = "T-" + uuid.uuid4().hex[:20]
    if body.supplier and not supplier_accepts_tickets(session, body.supplier):
        raise HTTPException(status.HTTP_409_CONFLICT, f"supplier {body.supplier} has exited and takes no new tickets")
    request_hash = _request_hash(body, caller.fingerprint)
    opened_at = datetime.now(UTC)
    ticket = new_ticket_input(settings, policy, ticket_id=ticket_id, customer_ref=body.customer_ref,
                              channel=body.channel, category=body.category, priority=body.priority,
                              team=body.team, summary=body.summary, description=body.description,
                              supplier=body.supplier, request_hash=request_hash, opened_by=caller.key_id,
                              opened_at=opened_at)
    search = ticket_search(settings, ticket)
    try:
        await client.start_workflow(
            TicketWorkflow.run, ticket, id=ticket_id, task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL, search_attributes=search)
    except WorkflowAlreadyStartedError:
        answer = await _created_before(client, settings, ticket_id, request_hash, _request_hash(body), response)
    else:
        # The workflow holds exactly this once its first task runs: no need to wait for that task.
        view = opening_view(ticket, opened_at)
        answer = TicketCreated(ticket=view, customer_token=customer_token(settings, ticket_id, view.token_version),
                               created=True)
    # Kept once the id is ours (a retried create stores nothing twice); the workflow never sees the text.
    await run_in_threadpool(keep_text, session, settings, ticket_id=ticket_id, text=body.description,
                            kind="description", actor=caller.key_id)
    return answer


async def _created_before(client: Client, settings: Settings, ticket_id: str, request_hash: str,
                          legacy_hash: str, response: Response) -> TicketCreated:
    """A retried create: the same request answers the ticket as it is now (200); another request is 409."""
    used = HTTPException(status.HTTP_409_CONFLICT, f"ticket_id {ticket_id} already used by a different request")
    try:
        view = await _state(client, ticket_id)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            raise used from exc  # the id names a workflow of another kind (a meeting, say)
        raise
    same_caller = view.request_hash == request_hash
    # A replay by another key is "a different request"; one of a ticket created before the caller
    # was part of the hash is accepted, but cannot prove its caller (decision 010).
    if not same_caller and view.request_hash != legacy_hash:
        raise used
    response.status_code = status.HTTP_200_OK
    # The token goes only to the key that created the ticket, and only while it is the first one:
    # after a revoke the new token is handed out by the revoke alone, never by a replayed create.
    token = customer_token(settings, ticket_id, view.token_version) if (
        same_caller and view.token_version == 1) else None
    return TicketCreated(ticket=view, customer_token=token, created=False)


@router.get("", response_model=TicketPage, responses=problems(*AUTH))
def list_tickets(session: SessionDep, caller: StaffReaderDep,
                 status_: Annotated[str | None, Query(alias="status", max_length=32, pattern=NO_NUL)] = None,
                 priority: Priority | None = None,
                 team: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
                 supplier: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
                 breached: bool | None = None,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> TicketPage:
    """List tickets from the read model, newest first."""
    rows, total = crud.list_tickets(session=session, status=status_, priority=priority, team=team,
                                    supplier=supplier, breached=breached, offset=offset, limit=limit)
    data = [TicketRow.model_validate({**r.model_dump(), "created_at": format_time(r.created_at)})
            for r in rows]
    return TicketPage(data=data, count=total, offset=offset, limit=limit)


@router.get("/{ticket_id}", response_model=TicketView, responses=problems(*AUTH, 404, 503))
async def get_ticket(ticket_id: TicketId, caller: StaffReaderDep, client: TemporalDep,
                     session: SessionDep) -> TicketView:
    """The full live state from the ticket's workflow: status, clocks, milestones, vouchers."""
    view = await _state(client, ticket_id)
    if not view.vouchers:  # most tickets: nothing to look up, so no read-model query on the event loop
        return view
    # Redemption happens on chain after the ticket may have closed; the read model knows it.
    redeemed = {v.voucher_id: v for v in vouchers.vouchers_of_ticket(session=session, ticket_id=ticket_id)}
    for voucher in view.vouchers:
        row = redeemed.get(voucher.voucher_id)
        if row is not None and row.redeemed:
            voucher.redeemed, voucher.redeem_tx_hash = True, row.redeem_tx_hash or ""
    return view


# ------------------------------------------------------------------ staff commands


@router.post("/{ticket_id}/assign", response_model=TicketView, responses=BODY_COMMAND)
async def assign(ticket_id: TicketId, body: AssignBody, caller: AgentDep, client: TemporalDep) -> TicketView:
    """Assign the ticket to an agent."""
    return await _update(client, ticket_id, TicketWorkflow.assign, AssignInput(body.assignee, caller.key_id))


@router.post("/{ticket_id}/respond", response_model=TicketView, responses=BODY_COMMAND)
async def respond(ticket_id: TicketId, body: RespondBody, caller: AgentDep, client: TemporalDep,
                  settings: SettingsDep, session: SessionDep) -> TicketView:
    """Record the first response (stops the first-response clock)."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.message, kind="reply",
                         actor=caller.key_id) as digest:
        return await _update(client, ticket_id, TicketWorkflow.respond, RespondInput(digest, caller.key_id))


@router.post("/{ticket_id}/notes", response_model=TicketView, responses=BODY_COMMAND)
async def add_note(ticket_id: TicketId, body: NoteBody, caller: AgentDep, client: TemporalDep,
                   settings: SettingsDep, session: SessionDep) -> TicketView:
    """Add a work note (its text stays off chain; the milestone holds a keyed hash)."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.text, kind="note",
                         actor=caller.key_id) as digest:
        return await _update(client, ticket_id, TicketWorkflow.add_note, NoteInput(digest, caller.key_id))


@router.post("/{ticket_id}/wait-for-customer", response_model=TicketView, responses=BODY_COMMAND)
async def wait_for_customer(ticket_id: TicketId, body: ReasonBody, caller: AgentDep, client: TemporalDep,
                            settings: SettingsDep, session: SessionDep) -> TicketView:
    """Pause the resolution clock while waiting on the customer."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.reason, kind="reason",
                         actor=caller.key_id) as digest:
        return await _update(client, ticket_id, TicketWorkflow.wait_for_customer, ActorInput(caller.key_id, digest))


@router.post("/{ticket_id}/customer-replied", response_model=TicketView, responses=COMMAND)
async def customer_replied(ticket_id: TicketId, caller: AgentDep, client: TemporalDep) -> TicketView:
    """The customer answered: the resolution clock runs again."""
    return await _update(client, ticket_id, TicketWorkflow.customer_replied, ActorInput(caller.key_id))


@router.post("/{ticket_id}/priority", response_model=TicketView, responses=BODY_COMMAND)
async def change_priority(ticket_id: TicketId, body: PriorityBody, caller: AgentDep, client: TemporalDep,
                          settings: SettingsDep, session: SessionDep) -> TicketView:
    """Change priority; clocks keep elapsed and paused time and take the new targets."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.reason, kind="reason",
                         actor=caller.key_id) as digest:
        return await _update(client, ticket_id, TicketWorkflow.change_priority,
                             PriorityInput(body.priority, caller.key_id, digest))


@router.post("/{ticket_id}/resolve", response_model=TicketView, responses=BODY_COMMAND)
async def resolve(ticket_id: TicketId, body: ResolveBody, caller: AgentDep, client: TemporalDep) -> TicketView:
    """Resolve with a resolution code and a root-cause category."""
    return await _update(client, ticket_id, TicketWorkflow.resolve,
                         ResolveInput(body.resolution_code, body.root_cause, caller.key_id))


@router.post("/{ticket_id}/reopen", response_model=TicketView, responses=BODY_COMMAND)
async def reopen(ticket_id: TicketId, body: ReasonBody, caller: AgentDep, client: TemporalDep,
                 settings: SettingsDep, session: SessionDep) -> TicketView:
    """Reopen a resolved ticket inside the reopen window (staff)."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.reason, kind="reason",
                         actor=caller.key_id) as digest:
        return await _update(client, ticket_id, TicketWorkflow.reopen, ActorInput(caller.key_id, digest))


@router.post("/{ticket_id}/escalate", response_model=TicketView, responses=BODY_COMMAND)
async def escalate(ticket_id: TicketId, body: EscalateBody, caller: AgentDep, client: TemporalDep,
                   policy: PolicyDep, settings: SettingsDep, session: SessionDep) -> TicketView:
    """Hand the ticket to another team; that team's department head is alerted."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.reason, kind="reason",
                         actor=caller.key_id) as digest:
        return await _update(client, ticket_id, TicketWorkflow.escalate,
                             EscalateInput(body.to_team, digest, policy.department_head(body.to_team), caller.key_id))


@router.post("/{ticket_id}/cancel", response_model=TicketView, responses=BODY_COMMAND)
async def cancel(ticket_id: TicketId, body: CancelBody, caller: SupervisorDep, client: TemporalDep) -> TicketView:
    """Cancel a duplicate or spam ticket (supervisors only)."""
    return await _update(client, ticket_id, TicketWorkflow.cancel, ActorInput(caller.key_id, body.reason))


@router.put("/{ticket_id}/policy", response_model=TicketView, responses=BODY_COMMAND)
async def apply_policy(ticket_id: TicketId, body: PolicyBody, caller: AdminDep, client: TemporalDep) -> TicketView:
    """Apply a policy document to one open ticket: its clocks keep elapsed and paused time."""
    try:
        policy = parse_policy(body.policy_toml, "policy_toml")
    except PolicyError as exc:
        # The same shape as FastAPI's own 422, so clients read every validation error one way.
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["body", "policy_toml"], "type": "value_error", "msg": str(exc)}]) from exc
    view = await _state(client, ticket_id)
    ticket_policy = policy.ticket_policy(category=view.category, team=view.team, year=datetime.now(UTC).year)
    return await _update(client, ticket_id, TicketWorkflow.apply_policy, PolicyInput(ticket_policy, caller.key_id))


@router.post("/{ticket_id}/customer-token/revoke", response_model=TicketCreated,
             responses=COMMAND)
async def revoke_customer_token(ticket_id: TicketId, caller: SupervisorDep, client: TemporalDep,
                                settings: SettingsDep) -> TicketCreated:
    """Revoke the customer's token and hand out a new one."""
    view = await _update(client, ticket_id, TicketWorkflow.revoke_customer_token,
                         RevokeTokenInput(caller.key_id))
    return TicketCreated(ticket=view, customer_token=customer_token(settings, ticket_id, view.token_version),
                         created=False)


# ------------------------------------------------------------------ customer commands




@router.post("/{ticket_id}/confirm", response_model=TicketView, responses=BODY_COMMAND)
async def confirm(ticket_id: TicketId, customer: CustomerDep, body: ConfirmBody, client: TemporalDep,
                  settings: SettingsDep, session: SessionDep) -> TicketView:
    """The customer confirms the resolution with a 1-5 rating (customer token)."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.comment, kind="rating_comment",
                         actor="customer") as digest:
        return await _update(client, ticket_id, TicketWorkflow.confirm,
                             ConfirmInput(body.rating, comment_hash=digest))


@router.post("/{ticket_id}/customer-reopen", response_model=TicketView, responses=BODY_COMMAND)
async def customer_reopen(ticket_id: TicketId, customer: CustomerDep, body: ReasonBody, client: TemporalDep,
                          settings: SettingsDep, session: SessionDep) -> TicketView:
    """The customer asks to reopen inside the window (customer token)."""
    async with kept_text(session, settings, ticket_id=ticket_id, text=body.reason, kind="reason",
                         actor="customer") as digest:
        return await _update(client, ticket_id, TicketWorkflow.reopen, ActorInput("customer", digest))
