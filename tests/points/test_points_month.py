"""Closing a month of points: once whatever the retries, by a workflow the monthly schedule starts,
anchored so that `qualitrail audit points` run by an employee detects an edited entry."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.points import PointsActivities
from contracts.anvil import AnvilProcess, free_port, start_anvil
from domain.milestones import Milestone as Link
from domain.milestones import MilestoneKind as K
from domain.milestones import format_time, new_milestone
from domain.points import MonthClosed, PointsMonthInput, previous_month
from readmodel import points as ledger
from readmodel.db import get_engine, init_db, session_scope
from readmodel.models import Milestone
from settings import ROOT
from tests.certificates.world import World, anchor_pending, build_world, copy_world
from tests.helpers import new_worker, tmp_db_url
from workflows.points import POINTS_SCHEDULE_ID, PointsMonthWorkflow, ensure_points_schedule

POLICY = ROOT / "config" / "policy.toml"


def plant(db_url: str, ticket: str, day: int, steps: list[tuple[str, dict[str, str]]], month: str = "2026-11") -> None:
    """A ticket's chain in the read model, one step an hour from ``day`` 09:00 of ``month``."""
    at = datetime.fromisoformat(f"{month}-{day:02d}T09:00:00+00:00")
    previous: Link | None = None
    with Session(get_engine(db_url)) as session:
        for kind, data in steps:
            m = new_milestone(ticket, previous, kind, at, data)
            session.add(Milestone(subject=ticket, seq=m.seq, kind=m.kind, at=format_time(m.at), prev=m.prev,
                                  leaf=m.leaf, data=json.dumps(m.data, sort_keys=True, separators=(",", ":"))))
            previous, at = m, at + timedelta(hours=1)
        session.commit()


def served(agent: str, rating: int, breach: bool = False) -> list[tuple[str, dict[str, str]]]:
    steps = [(K.OPENED, {"team": "after-sales"}), (K.ASSIGNED, {"assignee": agent, "actor": "agent#0"})]
    if breach:
        steps.append((K.SLA_BREACH, {"clock": "first_response", "target_seconds": "1800"}))
    return [*steps, (K.FIRST_RESPONSE, {"actor": "agent#0"}), (K.RESOLVED, {"resolution_code": "fixed"}),
            (K.CONFIRMED, {"rating": str(rating)})]


def plant_month(db_url: str) -> None:
    plant(db_url, "T-P-1", 3, served("li.wei", 5))  # 2 + 2 + 4 = 8
    plant(db_url, "T-P-2", 4, served("li.wei", 4))  # 2 + 2 + 2 = 6
    plant(db_url, "T-P-3", 5, served("zhang.min", 5, breach=True))  # -5 + 2 + 4 = 1
    plant(db_url, "T-P-4", 6, served("chen.jie", 2))  # 2 + 2 - 2 = 2
    plant(db_url, "T-P-5", 3, served("li.wei", 5), month="2026-12")  # next month: not in November


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = tmp_db_url(tmp_path)
    init_db(url)
    plant_month(url)
    return url


def test_a_retried_close_adds_nothing(db_url: str) -> None:
    acts = PointsActivities(db_url, POLICY)
    first = ActivityEnvironment().run(acts.close_points_month, PointsMonthInput("2026-11"))
    again = ActivityEnvironment().run(acts.close_points_month, PointsMonthInput("2026-11"))
    assert again == first
    assert (first.entry_count, first.agent_count) == (12, 3)
    with session_scope(db_url) as session:
        rows = ledger.month_entries(session, "2026-11")
        assert len(rows) == len({r.source_key for r in rows}) == 12
        ranks, total = ledger.ranking(session=session, month="2026-11")
        assert [(r.agent, r.total, r.rank, r.flagged) for r in ranks] == [
            ("li.wei", 14, 1, True), ("chen.jie", 2, 2, False), ("zhang.min", 1, 3, False)]
        m = ledger.month_milestone(session=session, month="2026-11")
        assert m is not None and json.loads(m.data)["ledger_root"] == first.ledger_root
    assert first.flagged == ["li.wei"]


async def test_the_workflow_closes_the_month_before_its_start(time_env: WorkflowEnvironment, db_url: str) -> None:
    acts = PointsActivities(db_url, POLICY)
    explicit = await _run_month(time_env, acts, "2026-11")
    assert explicit.entry_count == 12
    # Without a month (as the schedule starts it): the month before the workflow's start, which on
    # this shared server may be later than November, as other tests skip time.
    async with new_worker(time_env.client, acts.close_points_month, workflows=[PointsMonthWorkflow]) as worker:
        handle = await time_env.client.start_workflow(
            PointsMonthWorkflow.run, PointsMonthInput(), id=f"points-{uuid.uuid4()}", task_queue=worker.task_queue)
        closed = await handle.result()
    started = (await handle.describe()).start_time
    assert closed.month == previous_month(started)


async def _run_month(env: WorkflowEnvironment, acts: PointsActivities, month: str) -> MonthClosed:
    async with new_worker(env.client, acts.close_points_month, workflows=[PointsMonthWorkflow]) as worker:
        return await env.client.execute_workflow(PointsMonthWorkflow.run, PointsMonthInput(month),
                                                 id=f"points-{uuid.uuid4()}", task_queue=worker.task_queue)


async def test_the_schedule_is_monthly_made_once_and_starts_the_workflow(local_env: WorkflowEnvironment,
                                                                        db_url: str) -> None:
    queue = f"points-{uuid.uuid4()}"
    await ensure_points_schedule(local_env.client, queue)
    await ensure_points_schedule(local_env.client, queue)  # a second worker starting
    handle = local_env.client.get_schedule_handle(POINTS_SCHEDULE_ID)
    try:
        desc = await handle.describe()
        upcoming = desc.info.next_action_times[:3]
        assert [(t.day, t.hour, t.minute) for t in upcoming] == [(1, 2, 0)] * 3
        assert len({(t.year, t.month) for t in upcoming}) == 3
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "PointsMonthWorkflow"
        acts = PointsActivities(db_url, POLICY)
        async with new_worker(local_env.client, acts.close_points_month, workflows=[PointsMonthWorkflow],
                              task_queue=queue):
            await handle.trigger()
            for _ in range(100):
                with session_scope(db_url) as session:
                    month = previous_month(datetime.now(UTC))
                    if ledger.get_month(session=session, month=month) is not None:
                        break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the triggered schedule did not close the month")
    finally:
        await handle.delete()


# ------------------------------------------------------------------ the employee's check


@pytest.fixture(scope="module")
def anvil() -> Iterator[AnvilProcess]:
    node = start_anvil(free_port())
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def world(anvil: AnvilProcess, tmp_path: Path) -> World:
    w = build_world(tmp_path, anvil.url)
    plant_month(w.db_url)
    ActivityEnvironment().run(PointsActivities(w.db_url, POLICY).close_points_month, PointsMonthInput("2026-11"))
    anchor_pending(w)
    return w


def audit(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, "-m", "cli.audit", "points", "--month", "2026-11", "--rpc", world.rpc_url,
                           "--registry", world.deployment.registry, "--database-url", world.db_url, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_audit_points_passes_on_the_anchored_ledger_and_lists_the_agent(world: World) -> None:
    run = audit(world, "--agent", "li.wei")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "li.wei: 6 entries, total +14 points in 2026-11" in run.stdout
    assert "T-P-5" not in run.stdout and "FAIL" not in run.stdout


def test_audit_points_detects_an_edited_a_removed_and_an_added_entry(world: World, tmp_path: Path) -> None:
    for n, sql in enumerate((
            "UPDATE pointentry SET points = points + 10 WHERE source_key = 'T-P-3:2:sla_breached:first_response'",
            "DELETE FROM pointentry WHERE source_key = 'T-P-3:2:sla_breached:first_response'",
            "INSERT INTO pointentry (month, agent, source_key, rule, points, ticket_id, event_at) VALUES "
            "('2026-11', 'zhang.min', 'T-P-9:1:rating:5', 'rating:5', 4, 'T-P-9', '2026-11-09T09:00:00.000000Z')")):
        (tmp_path / str(n)).mkdir()
        tampered = copy_world(world, tmp_path / str(n))
        with sqlite3.connect(tampered.db_url.removeprefix("sqlite:///")) as conn:
            assert conn.execute(sql).rowcount == 1
        run = audit(tampered)
        assert run.returncode == 1, sql
        assert "FAIL  The ledger is the one that was closed" in run.stdout, run.stdout
    assert audit(world).returncode == 0


def test_audit_points_refuses_a_month_that_is_not_closed(world: World) -> None:
    run = subprocess.run([sys.executable, "-m", "cli.audit", "points", "--month", "2026-10", "--rpc", world.rpc_url,
                          "--registry", world.deployment.registry, "--database-url", world.db_url],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "not closed" in run.stderr


def test_mystery_shopper_scores_of_an_agent_enter_the_ledger_once(db_url: str) -> None:
    from services.evaluations import file_evaluation
    from settings import Settings

    with session_scope(db_url) as session:
        for evaluation_id, target_kind in (("EV-P-1", "agent"), ("EV-P-2", "team")):
            file_evaluation(session, Settings(), evaluation_id=evaluation_id, target_kind=target_kind,  # type: ignore[call-arg]
                            target="zhang.min" if target_kind == "agent" else "after-sales",
                            visited_at=datetime(2026, 11, 20, 2, 30, tzinfo=UTC), notes="",
                            scores={"professionalism": 5, "process_compliance": 4, "emergency_handling": 1},
                            evaluator="external_evaluator#0")
    acts = PointsActivities(db_url, POLICY)
    for _ in range(2):
        ActivityEnvironment().run(acts.close_points_month, PointsMonthInput("2026-11"))
    with session_scope(db_url) as session:
        mine = ledger.agent_entries(session=session, month="2026-11", agent="zhang.min")
        assert sorted((e.rule, e.points) for e in mine if e.rule.startswith("mystery")) == [
            ("mystery:emergency_handling", -2), ("mystery:process_compliance", 1), ("mystery:professionalism", 2)]
        ranks = {r.agent: r.total for r in ledger.ranking(session=session, month="2026-11")[0]}
    assert ranks["zhang.min"] == 1 + 1 and "after-sales" not in ranks
