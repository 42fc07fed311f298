"""Records histories of the quality-supervision workflows for the replay test (issue 13):
`python -m tests.workflows.record_quality_histories`.

A ticket whose description and rating comment enter its milestones as keyed hashes, a team's veto
year that crosses the line and closes, a month of points, a month's spot check (seed from a local
Anvil; reviewed, one task escalated, summarised). As with record_histories.py: commit new
files beside the old ones, never instead of them.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from activities.points import PointsActivities
from activities.spot_check import SpotCheckActivities
from activities.veto import VetoActivities
from contracts.anvil import free_port, start_anvil
from domain.encoding import format_time
from domain.points import PointsMonthInput
from domain.policy import load_policy
from domain.spot_check import Finding, FindingsInput, ReviewTask, SpotCheckInput
from domain.tickets import AssignInput, ConfirmInput, ResolveInput, RespondInput
from domain.veto import MajorComplaint, VetoInput, VetoPolicy
from readmodel.db import init_db
from services.veto import report_major_complaint
from settings import ROOT
from tests.cleanup import terminate_running
from tests.helpers import RecordingNotifier, new_worker, ticket_input, tmp_db_url
from tests.spot_check.planted import plant_month
from tests.workflows.desk import Desk
from workflows.points import PointsMonthWorkflow
from workflows.spot_check import SpotCheckKickoffWorkflow, SpotCheckMonthWorkflow
from workflows.ticket import TicketWorkflow
from workflows.veto import TeamVetoWorkflow, VetoScanWorkflow

OUT = Path(__file__).parent / "histories"
POLICY = ROOT / "config" / "policy.toml"


async def main() -> None:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(env, Path(tmp))
        async with desk.worker():
            ticket = await desk.start(replace(ticket_input("history-service-record"), description="",
                                              description_hash="0x" + "ab" * 32))
            await ticket.execute_update(TicketWorkflow.assign, AssignInput("agent-7"))
            await ticket.execute_update(TicketWorkflow.respond, RespondInput("0x" + "cd" * 32))
            await ticket.execute_update(TicketWorkflow.resolve, ResolveInput("fixed", "parts"))
            await ticket.execute_update(TicketWorkflow.confirm, ConfirmInput(2, comment_hash="0x" + "ef" * 32))
            await ticket.result()
            (OUT / "history-service-record.json").write_text((await ticket.fetch_history()).to_json())

        db_url = tmp_db_url(Path(tmp))
        init_db(db_url)
        queue = str(uuid.uuid4())
        veto = VetoActivities(db_url, POLICY, queue)
        points = PointsActivities(db_url, POLICY)
        async with new_worker(env.client, veto.record_veto, veto.scan_major_complaints, points.close_points_month,
                              RecordingNotifier().notify, task_queue=queue,
                              workflows=[TeamVetoWorkflow, VetoScanWorkflow, PointsMonthWorkflow]):
            now = await env.get_current_time()
            year = now.astimezone(ZoneInfo("Asia/Shanghai")).year
            rule = VetoPolicy(threshold=3, timezone="Asia/Shanghai",
                              recipients=["after-sales-head", "quality-committee"], grace_days=1)
            for n in (1, 2, 2, 3, 4):
                complaint = MajorComplaint(team="history-team", source_key=f"T-{n}:upheld", kind="upheld",
                                           ticket_id=f"T-{n}", at=format_time(now + timedelta(minutes=n)))
                await report_major_complaint(env.client, complaint, VetoInput("history-team", year, rule), queue)
                await env.sleep(timedelta(minutes=2))
            handle = env.client.get_workflow_handle(f"veto-history-team-{year}")
            end = datetime(year + 1, 1, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
            await env.sleep(end - await env.get_current_time() + timedelta(days=1))
            await handle.result()
            (OUT / "history-veto-year.json").write_text((await handle.fetch_history()).to_json())

            month = await env.client.start_workflow(PointsMonthWorkflow.run, PointsMonthInput("2026-11"),
                                                    id="history-points-month", task_queue=queue)
            await month.result()
            (OUT / "history-points-month.json").write_text((await month.fetch_history()).to_json())
        await _spot_check_month(env, Path(tmp))
        await desk.close()
    await env.shutdown()


async def _spot_check_month(env: WorkflowEnvironment, tmp: Path) -> None:
    db_url = tmp_db_url(tmp / "spot")
    init_db(db_url)
    plant_month(db_url)
    queue = str(uuid.uuid4())
    anvil = start_anvil(free_port())
    try:
        acts, veto = SpotCheckActivities(db_url, POLICY, anvil.url), VetoActivities(db_url, POLICY, queue)
        async with new_worker(env.client, acts.spot_check_policy, acts.find_seed_block, acts.draw_spot_check_sample,
                              acts.record_spot_check, acts.report_major_finding, veto.record_veto,
                              RecordingNotifier().notify, task_queue=queue,
                              workflows=[SpotCheckKickoffWorkflow, SpotCheckMonthWorkflow, TeamVetoWorkflow]):
            kickoff = SpotCheckInput(month="2026-11", policy=load_policy(POLICY).spot_check.to_policy())
            await env.client.execute_workflow(SpotCheckKickoffWorkflow.run, kickoff, id="history-spot-kickoff",
                                              task_queue=queue)
            handle = env.client.get_workflow_handle("spot-check-2026-11")
            tasks: list[ReviewTask] = []
            while not tasks:
                await env.sleep(1)
                tasks = await handle.query(SpotCheckMonthWorkflow.state)
            first, second, *rest = sorted(tasks, key=lambda t: t.ticket_id)
            await handle.execute_update(SpotCheckMonthWorkflow.record_findings, FindingsInput(
                first.ticket_id, [Finding("process_step", "diagnosis", "major", True)], "reviewer-1"))
            for task in rest:
                await handle.execute_update(SpotCheckMonthWorkflow.record_findings, FindingsInput(task.ticket_id, []))
            await env.sleep(timedelta(days=12))  # the open task is reminded, then escalated
            await handle.execute_update(SpotCheckMonthWorkflow.record_findings, FindingsInput(second.ticket_id, []))
            await handle.result()
            (OUT / "history-spot-check-month.json").write_text((await handle.fetch_history()).to_json())
            await terminate_running(env.client, [f"veto-{first.stratum.split('/')[0]}-2026"])
    finally:
        anvil.stop()


if __name__ == "__main__":
    asyncio.run(main())
