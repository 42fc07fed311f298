"""Opening a ticket: the one way the API's create route and the feedback triage build and start it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.encoding import format_time
from domain.milestones import customer_match_hash, customer_ref_hash
from domain.tickets import TicketInput, TicketStatus
from services.service_record import text_hash
from settings import Settings
from workflows.names import TICKET_WORKFLOW, ticket_search_attributes

if TYPE_CHECKING:  # a type only: importing the policy here reorders mypy's import cycle of the API
    from domain.policy import Policy


def new_ticket_input(settings: Settings, policy: Policy, *, ticket_id: str, customer_ref: str, channel: str,
                     category: str, priority: str, team: str, summary: str, description: str,
                     supplier: str | None, request_hash: str, opened_by: str, opened_at: datetime) -> TicketInput:
    """The workflow input of a new ticket: customer reference and description only as keyed hashes."""
    secret = settings.secret_key.get_secret_value().encode()
    return TicketInput(
        ticket_id=ticket_id, customer_ref_hash=customer_ref_hash(secret, ticket_id, customer_ref),
        customer_match_hash=customer_match_hash(secret, customer_ref),
        channel=channel, category=category, priority=priority, team=team,
        summary=summary, description="", description_hash=text_hash(settings, description),
        supplier=supplier,
        policy=policy.ticket_policy(category=category, team=team, year=opened_at.year),
        request_hash=request_hash, opened_by=opened_by, compensate=settings.compensation_enabled,
        opened_at=format_time(opened_at),
    )


def ticket_search(settings: Settings, ticket: TicketInput) -> TypedSearchAttributes:
    """The Temporal UI's filters from the first moment (the workflow keeps them current)."""
    if not settings.temporal_search_attributes:
        return TypedSearchAttributes.empty
    return TypedSearchAttributes(ticket_search_attributes(status=TicketStatus.OPEN.value, priority=ticket.priority,
                                                          team=ticket.team, breached=False))


async def start_ticket(client: Client, settings: Settings, ticket: TicketInput) -> bool:
    """Starts the ticket's workflow; False if a workflow with its id was started before (a retry)."""
    try:
        await client.start_workflow(
            TICKET_WORKFLOW, ticket, id=ticket.ticket_id, task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL, search_attributes=ticket_search(settings, ticket))
    except WorkflowAlreadyStartedError:
        return False
    return True
