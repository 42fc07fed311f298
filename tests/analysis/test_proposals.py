"""Systemic problems open the joint meeting (rules 11 and 20): the daily workflow proposes the planted
cross-department problem exactly once; accepting it over HTTP starts the 72-hour meeting with the
problem's tickets linked (time-skipping test server, a real uvicorn server on the test's loop)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import uvicorn
from temporalio.testing import WorkflowEnvironment

from activities.analysis import AnalysisActivities
from activities.governance import GovernanceActivities
from domain.analysis import AnalysisOutcome, AnalysisRequest
from readmodel import analysis as store
from readmodel import governance as gov
from readmodel.db import session_scope
from settings import ROOT, Settings, get_settings
from tests.analysis.conftest import RUN_KEY
from tests.helpers import RecordingNotifier, free_port, new_worker
from workflows.analysis import DailyAnalysisWorkflow
from workflows.joint_meeting import JointMeetingWorkflow

NEXT_DAY = "2026-07-02"
QUALITY = {"X-API-Key": "k-quality"}
AGENT = {"X-API-Key": "k-agent"}


@asynccontextmanager
async def api_on_this_loop(settings: Settings, env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    """The API app served by uvicorn on the test's own event loop (the Temporal client lives there)."""
    from api.main import create_app

    try:
        app = create_app()
    finally:
        get_settings.cache_clear()
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.temporal = env.client
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def test_a_cross_department_problem_proposes_one_meeting_and_acceptance_starts_it(
        own_env: WorkflowEnvironment, history_db: str) -> None:
    queue = f"analysis-{uuid.uuid4()}"
    analysis = AnalysisActivities(history_db, ROOT / "config" / "policy.toml")
    worker = new_worker(own_env.client, analysis.analyse_root_causes, analysis.refresh_case_library,
                        *GovernanceActivities(history_db).all(), RecordingNotifier().notify, task_queue=queue,
                        workflows=[DailyAnalysisWorkflow, JointMeetingWorkflow])
    settings = Settings(database_url=history_db, task_queue=queue,  # type: ignore[call-arg]
                        api_keys="k-quality:quality,k-agent:agent")  # type: ignore[arg-type]
    async with worker, api_on_this_loop(settings, own_env) as api:
        runs: list[AnalysisOutcome] = []
        for key in (RUN_KEY, NEXT_DAY):  # the next day's run finds the same problem: nothing new is proposed
            runs.append(await own_env.client.execute_workflow(
                DailyAnalysisWorkflow.run, AnalysisRequest(key), id=f"analysis-{uuid.uuid4()}",
                task_queue=queue, execution_timeout=timedelta(minutes=10)))
        first, second = runs
        assert first.flagged_steps == ["diagnosis"] and first.failures == 600 and first.tickets == 3000
        assert len(first.proposed) == 1 and second.proposed == []
        assert first.cases_added == 600 and second.cases_added == 0  # failed tickets with a root cause

        listed = (await api.get("/analysis/proposals", headers=QUALITY)).json()["data"]
        assert [p["problem_key"] for p in listed] == first.proposed
        proposal = listed[0]
        assert proposal["departments"] == ["after-sales", "logistics"] and proposal["status"] == "proposed"
        assert proposal["step"] == "follow_up" and proposal["root_cause"] == "handoff_gap"
        assert proposal["evidence"]["share_of_failures"] == 15.0 and proposal["evidence"]["tickets"] == 90
        assert len(proposal["ticket_ids"]) == 50 and proposal["evidence"]["reasons"]
        one = (await api.get(f"/analysis/proposals/{proposal['problem_key']}", headers=QUALITY)).json()
        # The problem's figures per run: what a meeting's solution is measured against, day after day.
        assert [(h["run_key"], h["share_of_failures"], h["tickets"]) for h in one["share_history"]] == [
            (RUN_KEY, 15.0, 90), (NEXT_DAY, 15.0, 90)]

        latest = (await api.get("/analysis/runs/latest", headers=QUALITY)).json()
        assert latest["run_key"] == NEXT_DAY and latest["flagged_steps"] == ["diagnosis"]
        # The same data and seed give the same clusters, day after day.
        day_one = (await api.get(f"/analysis/runs/{RUN_KEY}", headers=QUALITY)).json()
        assert [(p["name"], p["size"], p["ticket_ids"]) for p in day_one["problems"]] == \
            [(p["name"], p["size"], p["ticket_ids"]) for p in latest["problems"]]
        assert abs(latest["shares"]["by_step"]["diagnosis"] - 45.0) <= 2
        assert (latest["reopen_rate"], latest["repeat_rate"]) == (6.0, 8.0)
        assert latest["problems"][0]["step"] == "diagnosis" and "漏水" in latest["problems"][0]["terms"]
        assert (await api.get("/analysis/runs/latest", headers=AGENT)).status_code == 403

        key = proposal["problem_key"]
        accepted = await api.post(f"/analysis/proposals/{key}/accept", headers=QUALITY)
        assert accepted.status_code == 201, accepted.text
        meeting = accepted.json()
        assert meeting["meeting_id"] == f"M-{key}" and meeting["status"] == "open"
        assert meeting["departments"] == ["after-sales", "logistics"]
        assert meeting["linked_tickets"] == proposal["ticket_ids"]
        again = await api.post(f"/analysis/proposals/{key}/accept", headers=QUALITY)
        assert again.status_code == 409 and f"M-{key}" in again.json()["detail"]

        handle = own_env.client.get_workflow_handle(f"M-{key}")
        for _ in range(200):  # the meeting's own chain links every ticket, then the read model has them
            view = await handle.query(JointMeetingWorkflow.state)
            with session_scope(history_db) as s:
                linked = gov.linked_tickets(session=s, meeting_id=f"M-{key}")
            if linked:
                break
            await asyncio.sleep(0.1)
        assert sorted(d.data["ticket_id"] for d in view.milestones if d.kind == "ticket_linked") == \
            sorted(proposal["ticket_ids"])
        assert linked == sorted(proposal["ticket_ids"])
        with session_scope(history_db) as s:
            row = store.get_proposal(s, key)
            assert row is not None and (row.status, row.meeting_id, row.accepted_by) == (
                "accepted", f"M-{key}", "quality#0")
        await handle.terminate("test over")
