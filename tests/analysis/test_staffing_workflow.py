"""Forecast and staffing (rule 7): the daily workflow on its own time-skipping server with a real
worker over a generated read model stores the plan, alerts the team head and the quality committee
once for a short roster and not for a covered one, and a second run the same day sends nothing new;
its Schedule runs at the policy's hour."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import col, select
from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from activities.notify import Notifier
from activities.staffing import StaffingActivities
from analysis.generator import GeneratorConfig
from cli.data import write_history
from domain.staffing import STAFFING_SHORTFALL, StaffingOutcome, StaffingRequest
from readmodel import staffing as store
from readmodel.alert_models import Alert
from readmodel.db import session_scope
from readmodel.staffing_models import StaffingPlanDay
from settings import ROOT
from tests.helpers import POLICY, new_worker, tmp_db_url
from workflows.staffing import STAFFING_SCHEDULE_ID, DailyStaffingWorkflow, ensure_staffing_schedule

# 120 days of history (Jan-Apr 2026, the Qingming and May Day holidays close to the end), small.
HISTORY = GeneratorConfig(tickets=1500, seed=11, start=date(2026, 1, 1), days=120, prefix="STF")
RUN_KEY = "2026-05-01"


@pytest.fixture(scope="module")
def staffing_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = tmp_db_url(tmp_path_factory.mktemp("staffing"))
    write_history(url, HISTORY)
    return url


def _alerts(url: str) -> list[Alert]:
    with session_scope(url) as session:
        q = select(Alert).where(col(Alert.kind) == STAFFING_SHORTFALL).order_by(col(Alert.idempotency_key))
        return list(session.exec(q))


def _plan(url: str) -> list[StaffingPlanDay]:
    with session_scope(url) as session:
        return store.plan_days(session, run_key=RUN_KEY)


async def test_a_short_roster_alerts_its_head_and_quality_once(own_env: WorkflowEnvironment, staffing_db: str) -> None:
    short_day, covered_day = date(2026, 5, 6), date(2026, 5, 7)  # the first working days after May Day
    with session_scope(staffing_db) as session:
        store.put_roster(session, team="after-sales", days=[(short_day, 0), (covered_day, 500)], by="test")
    queue = f"staffing-{uuid.uuid4()}"
    acts = StaffingActivities(staffing_db, ROOT / "config" / "policy.toml")
    notifier = Notifier(db_url=staffing_db)  # the real inbox: its record is what a user sees
    outcomes: list[StaffingOutcome] = []
    async with new_worker(own_env.client, acts.plan_staffing, acts.find_shortfalls, notifier.notify,
                          task_queue=queue, workflows=[DailyStaffingWorkflow]):
        for _ in range(2):  # the same day twice (a re-run): the plan is replaced, nothing new is sent
            outcomes.append(await own_env.client.execute_workflow(
                DailyStaffingWorkflow.run, StaffingRequest(RUN_KEY), id=f"staffing-{uuid.uuid4()}",
                task_queue=queue, execution_timeout=timedelta(minutes=10)))
        first, second = outcomes
        sent_before = _alerts(staffing_db)
        # The head adds agents but the day is still one short: a smaller gap is news, sent once more.
        needed = next(p.agents_needed for p in _plan(staffing_db) if (p.day, p.team) == (short_day, "after-sales"))
        assert needed >= 2
        with session_scope(staffing_db) as session:
            store.put_roster(session, team="after-sales", days=[(short_day, needed - 1)], by="test")
        third = await own_env.client.execute_workflow(
            DailyStaffingWorkflow.run, StaffingRequest(RUN_KEY), id=f"staffing-{uuid.uuid4()}",
            task_queue=queue, execution_timeout=timedelta(minutes=10))

    plan = _plan(staffing_db)
    days = sorted({p.day for p in plan})
    assert days[0] == date(2026, 5, 1) and len(days) == POLICY.forecast.horizon_days
    assert {p.team for p in plan} == {"after-sales", "billing", "logistics"}
    assert len(plan) == first.plan.plan_days == second.plan.plan_days == 3 * len(days)  # replaced, not added
    need = {(p.day, p.team): p for p in plan}
    assert need[(short_day, "after-sales")].agents_needed > 0
    # The generator's weekly pattern carries over: a Saturday expects fewer tickets than a Wednesday.
    assert need[(date(2026, 5, 16), "after-sales")].volume < need[(date(2026, 5, 13), "after-sales")].volume
    assert first.plan.tickets == 1500

    assert first.shortfalls == 1 and first.alerts == 2
    assert second.shortfalls == 0 and second.alerts == 0
    alerts = sent_before
    assert sorted(a.recipient for a in alerts) == ["after-sales-head", "quality-committee"]
    short_by = need[(short_day, "after-sales")].agents_needed
    for a in alerts:
        assert a.subject_id == "after-sales"
        assert f"{short_by} agent(s) short on 2026-05-06" in a.message
        assert f'"short_by":"{short_by}"' in a.details and '"day":"2026-05-06"' in a.details
    assert third.shortfalls == 1 and third.alerts == 2
    later = [a for a in _alerts(staffing_db) if a.idempotency_key not in {b.idempotency_key for b in alerts}]
    assert sorted(a.recipient for a in later) == ["after-sales-head", "quality-committee"]
    assert all("1 agent(s) short on 2026-05-06" in a.message for a in later)


async def test_the_staffing_schedule_runs_daily_at_the_policy_hour(local_env: WorkflowEnvironment) -> None:
    queue = f"staffing-{uuid.uuid4()}"
    hour = POLICY.staffing.run_hour_utc
    await ensure_staffing_schedule(local_env.client, queue, hour)
    await ensure_staffing_schedule(local_env.client, queue, hour)  # a second worker finds it there
    handle = local_env.client.get_schedule_handle(STAFFING_SCHEDULE_ID)
    try:
        desc = await handle.describe()
        upcoming = desc.info.next_action_times[:3]
        assert [(t.hour, t.minute) for t in upcoming] == [(hour, 0)] * 3
        assert len({t.date() for t in upcoming}) == 3
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "DailyStaffingWorkflow"
        assert action.task_queue == queue
        assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP  # one run at a time
    finally:
        await handle.delete()
