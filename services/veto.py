"""Reporting a major complaint to its team-year's veto workflow (from the API and the daily scan)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.veto import MajorComplaint, VetoInput, veto_subject
from workflows.names import MAJOR_COMPLAINT_SIGNAL, VETO_WORKFLOW


async def report_major_complaint(client: Client, complaint: MajorComplaint, input: VetoInput, task_queue: str) -> bool:
    """Delivers one complaint to its team-year's workflow (signal-with-start), which counts it once.

    Returns False when that year is closed (its grace period is over): the complaint no longer counts.
    """
    try:
        await client.start_workflow(
            VETO_WORKFLOW, input, id=veto_subject(input.team, input.year), task_queue=task_queue,
            start_signal=MAJOR_COMPLAINT_SIGNAL, start_signal_args=[complaint],
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        return False
    return True
