"""A worker plus handles to drive the governance workflows on the time-skipping server."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.governance import GovernanceActivities
from activities.tickets import TicketActivities
from domain.governance import (
    MeetingInput,
    MeetingPolicy,
    MeetingView,
    SupplierInput,
    SupplierPolicy,
    SupplierView,
    meeting_policy,
    supplier_policy,
)
from readmodel.db import get_engine
from readmodel.governance import init_governance_db
from readmodel.models import Ticket
from tests.helpers import POLICY, RecordingNotifier, new_worker, tmp_db_url
from tests.time_skipping import restartable, skip
from workflows.joint_meeting import JointMeetingWorkflow
from workflows.supplier import SupplierWorkflow
from workflows.ticket import TicketWorkflow

H = 3600.0
DAY = 86400.0
DEPARTMENTS = ["after-sales", "logistics", "billing"]


class Board:
    """Drives meetings and suppliers against one temp read model."""

    def __init__(self, env: WorkflowEnvironment, tmp: Path) -> None:
        self.env = env
        self.client: Client = env.client
        self.db_url = tmp_db_url(tmp)
        init_governance_db(self.db_url)
        self.notifier = RecordingNotifier()
        self.task_queue = str(uuid.uuid4())
        self.acts = GovernanceActivities(self.db_url)
        self.tickets = TicketActivities(self.db_url)
        self.ids: list[str] = []

    def worker(self) -> AbstractAsyncContextManager[Worker]:
        return restartable(self.env, new_worker(self.client, *self.acts.all(), self.tickets.record_ticket,
                                                self.tickets.find_repeat_complaint, self.notifier.notify,
                                                task_queue=self.task_queue,
                                                workflows=[JointMeetingWorkflow, SupplierWorkflow, TicketWorkflow]))

    async def start_meeting(self, *, linked: list[str] | None = None, policy: MeetingPolicy | None = None,
                            category: str = "after_sales") -> WorkflowHandle[Any, MeetingView]:
        meeting_id = f"M-{uuid.uuid4().hex[:10]}"
        meeting = MeetingInput(meeting_id=meeting_id, title="Hand-off gap between after-sales and logistics",
                               category=category, departments=list(DEPARTMENTS),
                               policy=policy or meeting_policy(POLICY), linked_tickets=linked or [],
                               problem_hash="0xproblem", opened_by="quality#2")
        handle = await self.client.start_workflow(JointMeetingWorkflow.run, meeting, id=meeting_id,
                                                  task_queue=self.task_queue)
        self.ids.append(meeting_id)
        # The time-skipping server can drop an Update that races the first workflow task.
        await handle.query(JointMeetingWorkflow.state)
        return handle

    async def start_supplier(self, *, contract_value: int = 1_000_000, history_limit: int = 500,
                             policy: SupplierPolicy | None = None) -> WorkflowHandle[Any, SupplierView]:
        supplier_id = f"sup-{uuid.uuid4().hex[:10]}"
        sp = policy or supplier_policy(POLICY, year=2026, history_limit=history_limit)
        handle = await self.client.start_workflow(
            SupplierWorkflow.run, SupplierInput(supplier_id=supplier_id, name="CleanCo", contract_value=contract_value,
                                                currency="CNY", policy=sp),
            id=supplier_id, task_queue=self.task_queue)
        self.ids.append(supplier_id)
        await handle.query(SupplierWorkflow.state)
        # Updates and queries follow the newest run across continue-as-new.
        return self.client.get_workflow_handle_for(SupplierWorkflow.run, supplier_id)

    async def close(self) -> None:
        # A workflow left without a worker would hold the test server's time skipping.
        for wid in self.ids:
            handle = self.client.get_workflow_handle(wid)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")

    async def sleep(self, seconds: float) -> None:
        await skip(self.env, timedelta(seconds=seconds))

    async def now(self) -> datetime:
        return (await self.env.get_current_time()).astimezone(UTC)

    def session(self) -> Session:
        return Session(get_engine(self.db_url))

    def add_ticket(self, *, created_at: datetime, category: str = "after_sales", repeat_of: str | None = None,
                   supplier: str | None = None, status: str = "in_progress") -> str:
        """A ticket row as the ticket workflow would have recorded it (for read-model measurements)."""
        tid = f"T-{uuid.uuid4().hex[:10]}"
        with self.session() as s:
            s.add(Ticket(id=tid, status=status, priority="P3", category=category, team="after-sales",
                         channel="app", supplier=supplier, customer_ref_hash="0xc", summary="s", description="",
                         created_at=created_at, updated_at=created_at, repeat_of=repeat_of))
            s.commit()
        return tid

    def alerts(self, subject: str) -> list[tuple[str, str]]:
        return [(a.kind, a.recipient) for a in self.notifier.sent if a.subject_id == subject]
