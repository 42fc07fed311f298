"""Quality veto on the time-skipping server: the third major complaint of a year flips the award
eligibility once and alerts once (across worker restarts); the next year starts from zero."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.veto import VetoActivities
from domain.encoding import format_time
from domain.milestones import new_milestone
from domain.veto import MajorComplaint, ScanRequest, VetoInput, VetoPolicy, VetoView
from readmodel import crud, veto
from readmodel.db import get_engine, init_db, session_scope
from readmodel.models import Milestone, Ticket
from services.veto import report_major_complaint
from settings import ROOT
from tests.cleanup import terminate_running
from tests.helpers import RecordingNotifier, new_worker, tmp_db_url
from tests.time_skipping import restartable, skip
from workflows.veto import TeamVetoWorkflow, VetoScanWorkflow

POLICY = ROOT / "config" / "policy.toml"
TZ = "Asia/Shanghai"
RULE = VetoPolicy(threshold=3, timezone=TZ, recipients=["after-sales-head", "quality-committee"], grace_days=31)


class Veto:
    def __init__(self, env: WorkflowEnvironment, tmp: Path) -> None:
        self.env, self.client = env, env.client
        self.db_url = tmp_db_url(tmp)
        init_db(self.db_url)
        self.queue = str(uuid.uuid4())
        self.acts = VetoActivities(self.db_url, POLICY, self.queue)
        self.notifier = RecordingNotifier()
        self.team = f"team-{uuid.uuid4().hex[:6]}"
        self.started: set[str] = set()

    def worker(self, cached: int = 1000) -> AbstractAsyncContextManager[Worker]:
        return restartable(self.env, new_worker(self.client, self.acts.record_veto, self.acts.scan_major_complaints,
                                                self.notifier.notify, task_queue=self.queue,
                                                workflows=[TeamVetoWorkflow, VetoScanWorkflow],
                                                max_cached_workflows=cached))

    async def report(self, key: str, at: datetime, team: str | None = None, year: int | None = None) -> bool:
        team = team or self.team
        self.started.add(f"veto-{team}-{year or at.astimezone(ZoneInfo(TZ)).year}")
        c = MajorComplaint(team=team, source_key=key, kind="upheld", ticket_id=key.split(":")[0], at=format_time(at),
                           actor="quality#0")
        return await report_major_complaint(self.client, c, VetoInput(team, year or at.astimezone(ZoneInfo(TZ)).year,
                                                                      RULE), self.queue)

    async def view(self, year: int) -> VetoView:
        view: VetoView = await self.client.get_workflow_handle(f"veto-{self.team}-{year}").query(TeamVetoWorkflow.state)
        return view


@pytest.fixture
async def veto_desk(own_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Veto]:
    v = Veto(own_env, tmp_path)
    yield v
    await terminate_running(own_env.client, v.started)


async def test_third_complaint_flips_once_alerts_once_and_a_new_year_resets(own_env: WorkflowEnvironment,
                                                                            veto_desk: Veto) -> None:
    v, time_env = veto_desk, own_env
    now = await time_env.get_current_time()
    year = now.astimezone(ZoneInfo(TZ)).year
    async with v.worker(cached=0):
        assert await v.report("T-1:upheld", now)
        assert await v.report("T-2:upheld", now)
        assert await v.report("T-2:upheld", now)  # the same complaint reported twice
        await v.report("T-X:upheld", now, team="other-team-x", year=year)  # another team's year
        view = await v.view(year)
        assert (view.count, view.eligible, view.crossed_at) == (2, True, None)
    async with v.worker(cached=0):  # a restarted worker replays the history
        await v.report("T-3:upheld", now + timedelta(hours=1))
        await skip(time_env, timedelta(hours=2))
        await v.report("T-4:upheld", now + timedelta(hours=3))
        await skip(time_env, timedelta(hours=1))
        view = await v.view(year)
    assert (view.count, view.eligible) == (4, False) and view.crossed_at is not None
    assert [c.source_key for c in view.complaints] == ["T-1:upheld", "T-2:upheld", "T-3:upheld", "T-4:upheld"]
    lost = [a for a in v.notifier.sent if a.subject_id == f"veto-{v.team}-{year}"]
    assert sorted(a.recipient for a in lost) == ["after-sales-head", "quality-committee"]
    assert {a.kind for a in lost} == {"award_eligibility_lost"} and len({a.idempotency_key for a in lost}) == 2

    with session_scope(v.db_url) as session:
        row = veto.get_status(session=session, team=v.team, year=year)
        assert row is not None and (row.count, row.eligible, row.crossed_at) == (4, False, view.crossed_at)
        kinds = [m.kind for m in crud.milestones_of(session=session, subject=f"veto-{v.team}-{year}")]
    assert kinds == ["veto_year_opened"] + ["major_complaint_counted"] * 3 + ["award_eligibility_lost",
                                                                              "major_complaint_counted"]

    # The year ends (plus the grace for late reports): its workflow closes, the next year starts clean.
    next_year = datetime(year + 1, 1, 15, tzinfo=ZoneInfo(TZ))
    async with v.worker():
        await skip(time_env, next_year - await time_env.get_current_time() + timedelta(days=31))
        handle = v.client.get_workflow_handle(f"veto-{v.team}-{year}")
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        assert not await v.report("T-5:upheld", now)  # the closed year takes no more
        assert await v.report("T-6:upheld", next_year.astimezone(UTC))
        fresh = await v.view(year + 1)
    assert (fresh.count, fresh.eligible, fresh.crossed_at) == (1, True, None)
    assert len([a for a in v.notifier.sent if a.kind == "award_eligibility_lost"]) == 2


def plant_breach(db_url: str, ticket: str, team: str, category: str, clock: str, at: datetime) -> None:
    with Session(get_engine(db_url)) as session:
        session.add(Ticket(id=ticket, status="in_progress", priority="P3", category=category, team=team, channel="app",
                           customer_ref_hash="0xc", summary="s", description="", created_at=at, updated_at=at))
        opened = new_milestone(ticket, None, "opened", at, {})
        breach = new_milestone(ticket, opened, "sla_breach", at + timedelta(hours=48), {"clock": clock})
        for m in (opened, breach):
            session.add(Milestone(subject=ticket, seq=m.seq, kind=m.kind, at=format_time(m.at), prev=m.prev,
                                  leaf=m.leaf, data=json.dumps(m.data)))
        session.commit()


async def test_the_scan_counts_resolution_breaches_of_complaints_once(own_env: WorkflowEnvironment,
                                                                    veto_desk: Veto) -> None:
    v, time_env = veto_desk, own_env
    now = await time_env.get_current_time()
    year = now.astimezone(ZoneInfo(TZ)).year
    v.started.add(f"veto-{v.team}-{year}")
    base = now - timedelta(hours=60)
    plant_breach(v.db_url, f"{v.team}-A", v.team, "complaint", "resolution", base)
    plant_breach(v.db_url, f"{v.team}-B", v.team, "complaint", "first_response", base)  # not a resolution breach
    plant_breach(v.db_url, f"{v.team}-C", v.team, "after_sales", "resolution", base)  # not a complaint
    plant_breach(v.db_url, f"{v.team}-D", v.team, "complaint", "resolution", base - timedelta(days=10))  # too old
    async with v.worker():
        for _ in range(2):  # the next day's scan overlaps: nothing counts twice
            reported = await _scan(v.client, v.queue, format_time(now))
            assert reported == 1
        view = await v.view(year)
    assert [c.source_key for c in view.complaints] == [f"{v.team}-A:resolution_breach"]


async def _scan(client: Client, queue: str, until: str) -> int:
    result: int = await client.execute_workflow(VetoScanWorkflow.run, ScanRequest(until=until),
                                                id=f"scan-{uuid.uuid4()}", task_queue=queue)
    return result
