"""The API's door to each kind of workflow, and how a Temporal call's failure becomes an HTTP answer.

Tickets, meetings, suppliers and the anchoring workflow share Temporal's id space, so an id can name
a workflow of another kind: asked as a ticket, it is "not found", not a failure inside the server.
That is checked (one ``describe``) only after a query or Update failed, never on the normal path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, NoReturn, TypeVar

from fastapi import HTTPException, status
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.encoding import format_time
from domain.governance import MeetingView, SupplierView
from domain.tickets import TicketView
from workflows.joint_meeting import JointMeetingWorkflow
from workflows.names import MEETING_WORKFLOW, REFUSED, SUPPLIER_WORKFLOW, TICKET_WORKFLOW
from workflows.supplier import SupplierWorkflow
from workflows.ticket import TicketWorkflow


def raise_rpc(exc: RPCError, noun: str, ident: str) -> NoReturn:
    """404 for an unknown workflow, 409 for a finished one, 503 when Temporal cannot answer."""
    # An Update sent to a workflow that has completed answers NOT_FOUND "workflow execution already
    # completed": the ticket exists, it is just closed (e.g. a confirm retried after a lost answer).
    if exc.status == RPCStatusCode.NOT_FOUND and "already completed" in exc.message:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{noun} {ident} is closed") from exc
    if exc.status == RPCStatusCode.NOT_FOUND:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{noun} {ident} not found") from exc
    if exc.status == RPCStatusCode.FAILED_PRECONDITION:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{noun} {ident} is closed") from exc
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "workflow service unavailable") from exc


async def _raise_if_other_kind(handle: WorkflowHandle[Any, Any], kind: str, noun: str, cause: Exception) -> None:
    try:
        workflow_type = (await handle.describe()).workflow_type
    except RPCError as exc:
        raise_rpc(exc, noun, handle.id)
    if workflow_type != kind:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{noun} {handle.id} not found") from cause


async def query_workflow(handle: WorkflowHandle[Any, Any], kind: str, noun: str, query: Any, *args: Any) -> Any:
    """``handle.query``; a query that fails on a workflow of our kind is left to the app's 503 handler."""
    try:
        return await handle.query(query, *args)
    except RPCError as exc:
        raise_rpc(exc, noun, handle.id)
    except Exception as exc:
        # A failed query, or an answer that does not decode as this kind's state (another kind's
        # state query): not found if the id is another kind's, else the app's 503 or a real bug.
        await _raise_if_other_kind(handle, kind, noun, exc)
        raise


async def update_workflow(handle: WorkflowHandle[Any, Any], kind: str, noun: str, update: Any, arg: Any) -> Any:
    """``handle.execute_update``; a refused command is 409 with the workflow's reason."""
    try:
        return await handle.execute_update(update, arg)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if not (isinstance(cause, ApplicationError) and cause.type == REFUSED):
            await _raise_if_other_kind(handle, kind, noun, exc)
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise HTTPException(status.HTTP_409_CONFLICT, message) from exc
    except RPCError as exc:
        raise_rpc(exc, noun, handle.id)


V = TypeVar("V")


class WorkflowDoor(Generic[V]):
    """Handles, the state query and Updates of one kind of workflow, each failure as an HTTP answer.

    Args:
        run: The workflow's run method (gives the handle its type).
        state: Its state query.
        kind: Its workflow type name (``workflows.names``).
        noun: How answers name it ("ticket").
        state_args: Extra query arguments, made per call (the ticket passes the API's clock).
    """

    def __init__(self, run: Callable[..., Any], state: Callable[..., V], kind: str, noun: str,
                 state_args: Callable[[], tuple[Any, ...]] = tuple) -> None:
        self.run, self.query, self.kind, self.noun, self.state_args = run, state, kind, noun, state_args

    def handle(self, client: Client, ident: str) -> WorkflowHandle[Any, Any]:
        return client.get_workflow_handle_for(self.run, ident)

    async def start(self, client: Client, arg: Any, ident: str, task_queue: str, taken: str) -> V:
        """Start a workflow with a new id and return its first state; 409 saying ``taken`` if the id is used."""
        try:
            await client.start_workflow(self.run, arg, id=ident, task_queue=task_queue,
                                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                                        id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
        except WorkflowAlreadyStartedError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, taken) from exc
        except RPCError as exc:
            raise_rpc(exc, self.noun, ident)
        return await self.state(client, ident)

    async def state(self, client: Client, ident: str) -> V:
        view: V = await query_workflow(self.handle(client, ident), self.kind, self.noun, self.query,
                                       *self.state_args())
        return view

    async def update(self, client: Client, ident: str, update: Any, arg: Any) -> Any:
        return await update_workflow(self.handle(client, ident), self.kind, self.noun, update, arg)


TICKETS: WorkflowDoor[TicketView] = WorkflowDoor(TicketWorkflow.run, TicketWorkflow.state, TICKET_WORKFLOW, "ticket",
                                                 state_args=lambda: (format_time(datetime.now(UTC)),))

MEETINGS: WorkflowDoor[MeetingView] = WorkflowDoor(JointMeetingWorkflow.run, JointMeetingWorkflow.state,
                                                  MEETING_WORKFLOW, "meeting")

SUPPLIERS: WorkflowDoor[SupplierView] = WorkflowDoor(SupplierWorkflow.run, SupplierWorkflow.state, SUPPLIER_WORKFLOW,
                                                   "supplier")
