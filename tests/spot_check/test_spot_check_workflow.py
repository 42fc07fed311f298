"""A month's spot check on the time-skipping server, the seed from a real Anvil: the sample is 10-15 %
of every stratum, reminders and one escalation per overdue task, findings checked against the
checklist and recorded as milestones, a worker restart changes nothing, the schedule is monthly."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import ScheduleActionStartWorkflow, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.points import PointsActivities
from activities.spot_check import SpotCheckActivities
from activities.veto import VetoActivities
from contracts.anvil import AnvilProcess, free_port, start_anvil
from domain.points import PointsMonthInput
from domain.policy import load_policy
from domain.spot_check import Finding, FindingsInput, SpotCheckInput
from readmodel import crud, spot_check
from readmodel import points as ledger
from readmodel.db import init_db, session_scope
from readmodel.models import Ticket
from settings import ROOT
from tests.cleanup import terminate_running
from tests.helpers import RecordingNotifier, new_worker, tmp_db_url
from tests.spot_check.planted import plant_month
from tests.time_skipping import restartable, skip
from workflows.spot_check import (
    SPOT_CHECK_SCHEDULE_ID,
    SpotCheckKickoffWorkflow,
    SpotCheckMonthWorkflow,
    ensure_spot_check_schedule,
)
from workflows.veto import TeamVetoWorkflow

POLICY_FILE = ROOT / "config" / "policy.toml"


@pytest.fixture(scope="module")
def anvil() -> Iterator[AnvilProcess]:
    node = start_anvil(free_port())
    try:
        yield node
    finally:
        node.stop()


class Desk:
    def __init__(self, env: WorkflowEnvironment, tmp: Path, rpc_url: str) -> None:
        self.env, self.client = env, env.client
        self.db_url = tmp_db_url(tmp)
        init_db(self.db_url)
        self.queue = str(uuid.uuid4())
        self.acts = SpotCheckActivities(self.db_url, POLICY_FILE, rpc_url)
        self.notifier = RecordingNotifier()

    def worker(self, cached: int = 1000) -> AbstractAsyncContextManager[Worker]:
        a = self.acts
        veto = VetoActivities(self.db_url, POLICY_FILE, self.queue)
        flows = [SpotCheckKickoffWorkflow, SpotCheckMonthWorkflow, TeamVetoWorkflow]
        return restartable(self.env, new_worker(self.client, a.spot_check_policy, a.find_seed_block,
                                                a.draw_spot_check_sample, a.record_spot_check, a.report_major_finding,
                                                veto.record_veto, self.notifier.notify, task_queue=self.queue,
                                                max_cached_workflows=cached, workflows=flows))


async def test_a_month_sampled_reviewed_escalated_and_summarised(own_env: WorkflowEnvironment, tmp_path: Path,
                                                                anvil: AnvilProcess) -> None:
    time_env = own_env
    desk = Desk(time_env, tmp_path, anvil.url)
    abnormal = plant_month(desk.db_url)
    month = "2026-11"
    kickoff = SpotCheckInput(month=month, policy=load_policy(POLICY_FILE).spot_check.to_policy())
    async with desk.worker(cached=0):
        await time_env.client.execute_workflow(SpotCheckKickoffWorkflow.run, kickoff, id=f"kick-{uuid.uuid4()}",
                                               task_queue=desk.queue)
        # Started twice (the schedule's catch-up, say): still one check of the month.
        await time_env.client.execute_workflow(SpotCheckKickoffWorkflow.run, kickoff, id=f"kick-{uuid.uuid4()}",
                                               task_queue=desk.queue)
        handle = time_env.client.get_workflow_handle(f"spot-check-{month}")
        for _ in range(100):
            tasks = await handle.query(SpotCheckMonthWorkflow.state)
            if tasks:
                break
            await skip(time_env, timedelta(seconds=1))
    with session_scope(desk.db_url) as session:
        sample = spot_check.get_sample(session=session, month=month)
        assert sample is not None
        strata = json.loads(sample.strata)
        first_hash = sample.sample_hash
    assert strata == {"after-sales/after_sales": [40, 5], "billing/complaint": [20, 2]}
    for stratum, (population, sampled) in strata.items():
        assert 0.10 <= sampled / population <= 0.15, stratum
    assert "T-late" not in {t.ticket_id for t in tasks}
    assert {t.reviewer for t in tasks} == {"reviewer-1", "reviewer-2"}

    first, second, *rest = sorted(tasks, key=lambda t: t.ticket_id)
    async with desk.worker(cached=0):  # a new worker process: everything replays
        await refused(handle, FindingsInput(first.ticket_id, [Finding("process_step", "diagnosis", "catastrophic")]),
                      "findings[0].severity must be one of")
        await refused(handle, FindingsInput("T-nobody", []), "not in the 2026-11 sample")
        done = await handle.execute_update(SpotCheckMonthWorkflow.record_findings, FindingsInput(
            first.ticket_id, [Finding("process_step", "diagnosis", "major", True),
                              Finding("communication", "follow_up", "minor")], "reviewer#0"))
        assert (done.status, done.findings) == ("reviewed", 2)
        await refused(handle, FindingsInput(first.ticket_id, []), "already reviewed")
        for task in rest:
            await handle.execute_update(SpotCheckMonthWorkflow.record_findings, FindingsInput(task.ticket_id, []))
        await skip(time_env, timedelta(days=12))  # past the due date: the one open task escalates
    async with desk.worker(cached=0):
        await skip(time_env, timedelta(days=20))  # much later: still once
        await handle.execute_update(SpotCheckMonthWorkflow.record_findings, FindingsInput(second.ticket_id, []))
        summary = json.loads(await handle.result())

    escalations = [a for a in desk.notifier.sent if a.kind == "spot_check_escalated"]
    assert [(a.recipient, a.details["ticket_id"]) for a in escalations] == [("quality-committee", second.ticket_id)]
    reminders = [a for a in desk.notifier.sent if a.kind == "spot_check_reminder"]
    assert [a.details["ticket_id"] for a in reminders] == [second.ticket_id]  # the others were reviewed in time
    assert summary["findings_by_step"] == {"diagnosis": 1, "follow_up": 1}
    assert summary["findings_by_severity"] == {"major": 1, "minor": 1} and summary["escalated"] == 1
    with session_scope(desk.db_url) as session:
        assert spot_check.get_sample(session=session, month=month).sample_hash == first_hash  # type: ignore[union-attr]
        kinds = [m.kind for m in crud.milestones_of(session=session, subject=f"spotcheck-{month}")]
        finding = [json.loads(m.data) for m in crud.milestones_of(session=session, subject=f"spotcheck-{month}")
                   if m.kind == "spot_check_finding"][0]
        ticket_tip = crud.milestones_of(session=session, subject=first.ticket_id)[-1].leaf
        finding_at = [m.at for m in crud.milestones_of(session=session, subject=f"spotcheck-{month}")
                      if m.kind == "spot_check_finding"][0]
    assert kinds.count("spot_check_sampled") == 1 and kinds.count("spot_check_escalated") == 1
    assert kinds.count("spot_check_reviewed") == 7 and kinds[-1] == "spot_check_summary"
    assert (finding["ticket_id"], finding["ticket_leaf"], finding["severity"]) == (first.ticket_id, ticket_tip, "major")
    assert abnormal  # planted: the abnormal share is checked in test_sampling

    # The major finding counts against the ticket's team in the veto, once; and costs its assignee points.
    team = first.stratum.split("/")[0]
    year = datetime.fromisoformat(finding_at.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai")).year
    try:
        async with desk.worker():
            veto = await time_env.client.get_workflow_handle(f"veto-{team}-{year}").query(TeamVetoWorkflow.state)
    finally:
        await terminate_running(time_env.client, [f"veto-{team}-{year}"])
    assert [(c.ticket_id, c.kind) for c in veto.complaints] == [(first.ticket_id, "spot_check_finding")]
    with session_scope(desk.db_url) as session:
        session.add(Ticket(id=first.ticket_id, status="closed", priority="P3", category="x", team=team, channel="app",
                           customer_ref_hash="0xc", summary="s", description="", assignee="li.wei",
                           created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        session.commit()
    points_month = finding_at[:7]
    ActivityEnvironment().run(PointsActivities(desk.db_url, POLICY_FILE).close_points_month,
                              PointsMonthInput(points_month))
    with session_scope(desk.db_url) as session:
        mine = ledger.agent_entries(session=session, month=points_month, agent="li.wei")
    assert [(e.rule, e.points) for e in mine if e.rule.startswith("spot_check")] == [("spot_check:major", -3),
                                                                                    ("spot_check:minor", -1)]


async def refused(handle: WorkflowHandle[Any, Any], cmd: FindingsInput, reason: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(SpotCheckMonthWorkflow.record_findings, cmd)
    assert reason in str(err.value.cause)


async def test_the_schedule_is_monthly_and_made_once(local_env: WorkflowEnvironment) -> None:
    queue = f"spot-{uuid.uuid4()}"
    await ensure_spot_check_schedule(local_env.client, queue)
    await ensure_spot_check_schedule(local_env.client, queue)
    handle = local_env.client.get_schedule_handle(SPOT_CHECK_SCHEDULE_ID)
    try:
        desc = await handle.describe()
        upcoming = desc.info.next_action_times[:3]
        assert [(t.day, t.hour, t.minute) for t in upcoming] == [(1, 0, 5)] * 3
        assert len({(t.year, t.month) for t in upcoming}) == 3
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "SpotCheckKickoffWorkflow"
    finally:
        await handle.delete()
