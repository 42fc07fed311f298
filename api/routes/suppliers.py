"""Supplier endpoints: register, deductions (quality), appeal (supplier manager), decision (quality),
reassignment of an exited supplier's open tickets (supervisor), and reads.

:func:`supplier_accepts_tickets` is what ticket creation asks before routing a ticket to a supplier.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import (
    STAFF,
    Caller,
    PolicyDep,
    QualityDep,
    SessionDep,
    SettingsDep,
    SupervisorDep,
    TemporalDep,
    require_roles,
)
from api.schemas import AUTH, BODY, NO_NUL, WORKFLOW, problems
from api.schemas.suppliers import (
    AppealBody,
    DecisionBody,
    DeductionBody,
    DeductionRow,
    ReassignBody,
    SupplierCreate,
    SupplierId,
    SupplierPage,
    SupplierRow,
    TicketId,
)
from api.workflows import SUPPLIERS, TICKETS
from domain.governance import (
    AppealDecisionInput,
    AppealInput,
    DeductionInput,
    DeductionResult,
    ReassignInput,
    SupplierInput,
    SupplierView,
    supplier_policy,
)
from domain.tickets import EscalateInput
from readmodel import governance as gov
from workflows.supplier import SupplierWorkflow
from workflows.ticket import TicketWorkflow

router = APIRouter(prefix="/suppliers", tags=["suppliers"])

SupplierManagerDep = Annotated[Caller, Depends(require_roles("supplier_manager"))]
SupplierReaderDep = Annotated[Caller, Depends(require_roles(*STAFF, "supplier_manager"))]

BODY_COMMAND = problems(*AUTH, *WORKFLOW, *BODY)


def supplier_accepts_tickets(session: Session, supplier_id: str) -> bool:
    """False once the supplier has exited: ticket creation then answers 409 naming ``supplier``."""
    return gov.supplier_accepts_tickets(session, supplier_id)







@router.post("", status_code=status.HTTP_201_CREATED, response_model=SupplierView,
             responses={**problems(*AUTH, *BODY, 409, 503)})
async def register_supplier(body: SupplierCreate, caller: QualityDep, settings: SettingsDep, policy: PolicyDep,
                            client: TemporalDep) -> SupplierView:
    """Register a supplier: starts its long-running ledger workflow."""
    supplier = SupplierInput(supplier_id=body.supplier_id, name=body.name, contract_value=body.contract_value,
                             currency=body.currency, opened_by=caller.key_id,
                             policy=supplier_policy(policy, year=datetime.now(UTC).year))
    return await SUPPLIERS.start(client, supplier, body.supplier_id, settings.task_queue,
                                 f"supplier_id {body.supplier_id} already registered")


@router.get("", response_model=SupplierPage, responses=problems(*AUTH))
def list_suppliers(session: SessionDep, caller: SupplierReaderDep,
                   status_: Annotated[str | None, Query(alias="status", max_length=16, pattern=NO_NUL)] = None,
                   offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50) -> SupplierPage:
    """List suppliers from the read model (a supplier manager sees only the suppliers its key names)."""
    rows, total = gov.list_suppliers(session=session, status=status_, offset=offset, limit=limit,
                                     only=caller.suppliers)
    data = [SupplierRow.model_validate(r, from_attributes=True) for r in rows]
    return SupplierPage(data=data, count=total, offset=offset, limit=limit)


@router.get("/{supplier_id}", response_model=SupplierView, responses=problems(*AUTH, 404, 503))
async def get_supplier(supplier_id: SupplierId, caller: SupplierReaderDep, client: TemporalDep) -> SupplierView:
    """The live ledger: total, exit state, this run's milestones."""
    caller.check_supplier(supplier_id)
    return await SUPPLIERS.state(client, supplier_id)


@router.get("/{supplier_id}/deductions", response_model=list[DeductionRow], responses=problems(*AUTH, 404))
def list_deductions(supplier_id: SupplierId, session: SessionDep, caller: SupplierReaderDep) -> list[DeductionRow]:
    """Every deduction of the supplier from the read model, oldest first."""
    caller.check_supplier(supplier_id)
    return [DeductionRow.model_validate(d, from_attributes=True)
            for d in gov.deductions_of(session=session, supplier_id=supplier_id)]


@router.post("/{supplier_id}/deductions", status_code=status.HTTP_201_CREATED, response_model=DeductionResult,
             responses={**BODY_COMMAND, 200: {"description": "incident already deducted (nothing changed)"}})
async def record_deduction(supplier_id: SupplierId, body: DeductionBody, response: Response, caller: QualityDep,
                           session: SessionDep, policy: PolicyDep, client: TemporalDep) -> DeductionResult:
    """Record a deduction for an incident; the same incident_id never deducts twice."""
    known = sorted(policy.supplier.deduction_percent_by_severity)
    if body.severity not in known:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["body", "severity"], "type": "value_error",
            "msg": f"unknown severity {body.severity!r}; the policy file knows {known}"}])
    owner = gov.deduction_owner(session=session, incident_id=body.incident_id)
    if owner is not None and owner != supplier_id:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"incident_id {body.incident_id} was already deducted from supplier {owner}")
    result: DeductionResult = await SUPPLIERS.update(
        client, supplier_id, SupplierWorkflow.record_deduction,
        DeductionInput(body.incident_id, body.severity, body.ticket_id, body.reason, body.amount, caller.key_id))
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result


@router.post("/{supplier_id}/appeal", response_model=SupplierView, responses=BODY_COMMAND)
async def file_appeal(supplier_id: SupplierId, body: AppealBody, caller: SupplierManagerDep,
                      client: TemporalDep) -> SupplierView:
    """The supplier manager appeals an exit notice inside the appeal window (its own suppliers only)."""
    caller.check_supplier(supplier_id)
    view: SupplierView = await SUPPLIERS.update(client, supplier_id, SupplierWorkflow.file_appeal,
                                       AppealInput(body.reason, caller.key_id))
    return view


@router.post("/{supplier_id}/appeal/decision", response_model=SupplierView, responses=BODY_COMMAND)
async def decide_appeal(supplier_id: SupplierId, body: DecisionBody, caller: QualityDep,
                        client: TemporalDep) -> SupplierView:
    """The quality committee decides an appeal: upheld (exit continues) or granted (exit withdrawn)."""
    view: SupplierView = await SUPPLIERS.update(client, supplier_id, SupplierWorkflow.decide_appeal,
                                       AppealDecisionInput(body.upheld, body.reason, caller.key_id))
    return view


@router.get("/{supplier_id}/open-tickets", response_model=list[str], responses=problems(*AUTH, 404, 503))
async def open_tickets(supplier_id: SupplierId, caller: SupervisorDep, client: TemporalDep) -> list[str]:
    """The exited supplier's open tickets that still need reassignment."""
    view = await SUPPLIERS.state(client, supplier_id)
    return [t for t in view.open_tickets if t not in view.reassigned]


@router.post("/{supplier_id}/tickets/{ticket_id}/reassign", response_model=SupplierView,
             responses=BODY_COMMAND)
async def reassign_ticket(supplier_id: SupplierId, ticket_id: TicketId, body: ReassignBody, caller: SupervisorDep,
                          policy: PolicyDep, client: TemporalDep) -> SupplierView:
    """Move one open ticket of an exited supplier to another team; the last one terminates the process."""
    view = await SUPPLIERS.state(client, supplier_id)
    if view.status not in ("exited", "terminated"):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"supplier is {view.status}; tickets are reassigned after its exit")
    if ticket_id not in view.open_tickets:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"ticket {ticket_id} is not an open ticket of {supplier_id}")
    if ticket_id in view.reassigned:
        raise HTTPException(status.HTTP_409_CONFLICT, f"ticket {ticket_id} was already reassigned")
    ticket = TICKETS.handle(client, ticket_id)
    try:
        await ticket.execute_update(TicketWorkflow.escalate, EscalateInput(
            body.to_team, f"supplier {supplier_id} exited: {body.reason}", policy.department_head(body.to_team),
            caller.key_id))
    except WorkflowUpdateFailedError:
        pass  # already with that team, or closed meanwhile: the reassignment is still recorded
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND and exc.status != RPCStatusCode.FAILED_PRECONDITION:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "workflow service unavailable") from exc
    result: SupplierView = await SUPPLIERS.update(client, supplier_id, SupplierWorkflow.reassign_ticket,
                                         ReassignInput(ticket_id, body.to_team, caller.key_id))
    return result
