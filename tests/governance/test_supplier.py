"""SupplierWorkflow on the time-skipping test server: ledger, strict threshold, exit, appeal, history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from domain.governance import (
    AppealDecisionInput,
    AppealInput,
    DeductionInput,
    DeductionResult,
    ReassignInput,
    SupplierView,
    add_business_days,
    exceeds_threshold,
)
from domain.milestones import verify_chain
from readmodel import crud
from readmodel import governance as gov
from readmodel.governance_models import Deduction
from tests.governance.board import DAY, Board
from tests.helpers import POLICY
from worker import SANDBOX
from workflows.supplier import SupplierWorkflow


def kinds(view: SupplierView) -> list[str]:
    return [m.kind for m in view.milestones]


Handle = WorkflowHandle[Any, Any]


async def deduct(h: Handle, incident: str, severity: str = "major", ticket_id: str = "") -> DeductionResult:
    result: DeductionResult = await h.execute_update(
        SupplierWorkflow.record_deduction, DeductionInput(incident_id=incident, severity=severity,
                                                          ticket_id=ticket_id))
    return result


async def state(h: Handle) -> SupplierView:
    view: SupplierView = await h.query(SupplierWorkflow.state)
    return view


def chain_ok(board: Board, subject: str) -> list[str]:
    with board.session() as s:
        rows = crud.milestones_of(session=s, subject=subject)
    links = [{"seq": r.seq, "kind": r.kind, "at": r.at, "prev": r.prev, "leaf": r.leaf, "data": json.loads(r.data)}
             for r in rows]
    assert verify_chain(subject, links) == []
    return [r.kind for r in rows]


async def exit_notice(board: Board) -> Handle:
    h = await board.start_supplier()
    for i in range(5):
        await deduct(h, f"INC-{i}")
    r = await deduct(h, "INC-5", "minor")
    assert r.exit_started
    return h


def test_threshold_is_strictly_greater_and_exact() -> None:
    assert not exceeds_threshold(100_000, 1_000_000, 10)
    assert exceeds_threshold(100_001, 1_000_000, 10)
    assert not exceeds_threshold(333, 3330, 10) and exceeds_threshold(334, 3330, 10)


async def test_exactly_ten_percent_does_not_exit_the_next_deduction_does(board: Board) -> None:
    async with board.worker():
        h = await board.start_supplier(contract_value=1_000_000)  # major = 2 % = 20 000
        for i in range(5):
            r = await deduct(h, f"INC-{i}", ticket_id=f"T-{i}")
            assert not r.exit_started and r.status == "active"
        view = await state(h)
        assert view.total == 100_000 and view.status == "active" and "exit_notice" not in kinds(view)
        r = await deduct(h, "INC-5", "minor")
        assert r.exit_started and r.amount == 5_000 and r.total == 105_000 and r.status == "exit_notice"
        view = await state(h)
        sid = view.supplier_id
    assert kinds(view)[-2:] == ["deduction_recorded", "exit_notice"]
    assert board.alerts(sid) == [("exit_notice", "quality-committee-head")]
    assert view.appeal_due is not None
    with board.session() as s:
        assert [d.incident_id for d in gov.deductions_of(session=s, supplier_id=sid)] == \
            [f"INC-{i}" for i in range(6)]
        row = gov.get_supplier(session=s, supplier_id=sid)
        assert row is not None and row.status == "exit_notice" and row.total == 105_000
    assert chain_ok(board, sid)[0] == "supplier_registered"


async def test_duplicate_incident_deducts_once_in_workflow_and_read_model(board: Board) -> None:
    async with board.worker():
        h = await board.start_supplier()
        first = await deduct(h, "INC-A", "critical")
        again = await deduct(h, "INC-A", "critical")
        view = await state(h)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await deduct(h, "INC-B", "catastrophic")
        assert "unknown severity" in str(err.value.cause)
    assert (first.duplicate, again.duplicate) == (False, True)
    assert view.total == 50_000 and view.deduction_count == 1
    assert kinds(view).count("deduction_recorded") == 1
    with board.session() as s:
        assert len(gov.deductions_of(session=s, supplier_id=view.supplier_id)) == 1
        # The unique constraint stops a second row for the incident whatever the writer.
        s.add(Deduction(incident_id="INC-A", supplier_id="other", severity="minor", amount=1, at="x", leaf="0x"))
        with pytest.raises(IntegrityError):
            s.commit()


async def test_appeal_granted_withdraws_exit_and_no_second_exit_starts(board: Board) -> None:
    async with board.worker():
        h = await exit_notice(board)
        await board.sleep(2 * DAY)
        view = await h.execute_update(SupplierWorkflow.file_appeal,
                                      AppealInput("two incidents were the courier's fault", "supplier_manager#6"))
        assert view.status == "appealed"
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update(SupplierWorkflow.file_appeal, AppealInput("again"))
        view = await h.execute_update(SupplierWorkflow.decide_appeal,
                                      AppealDecisionInput(False, "evidence accepted", "quality#2"))
        assert view.status == "active" and view.decision == "granted"
        r = await deduct(h, "INC-after", "critical")
        await board.sleep(20 * DAY)
        view = await state(h)
    assert not r.exit_started and r.status == "active" and view.status == "active"
    assert kinds(view).count("exit_notice") == 1 and "exit_confirmed" not in kinds(view)
    granted = next(m for m in view.milestones if m.kind == "appeal_granted")
    assert granted.data["reason"] == "evidence accepted"
    assert view.milestones[-1].data["after_exit_started"] == "true"
    chain_ok(board, view.supplier_id)


async def test_appeal_upheld_exits_lists_and_reassigns_open_tickets_then_terminates(board: Board) -> None:
    async with board.worker():
        h = await board.start_supplier()
        sid = h.id
        now = await board.now()
        open_a = board.add_ticket(created_at=now, supplier=sid)
        open_b = board.add_ticket(created_at=now, supplier=sid, status="resolved")
        board.add_ticket(created_at=now, supplier=sid, status="closed")
        for i in range(5):
            await deduct(h, f"INC-{i}")
        await deduct(h, "INC-5", "minor")
        await h.execute_update(SupplierWorkflow.file_appeal, AppealInput("disputed"))
        with board.session() as s:
            assert gov.supplier_accepts_tickets(s, sid)
        view = await h.execute_update(SupplierWorkflow.decide_appeal, AppealDecisionInput(True, "incidents confirmed"))
        await board.sleep(1)
        view = await state(h)
        assert view.status == "exited" and view.open_tickets == sorted([open_a, open_b])
        with board.session() as s:
            assert not gov.supplier_accepts_tickets(s, sid)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(SupplierWorkflow.reassign_ticket, ReassignInput("T-unknown", "in-house"))
        assert "not among" in str(err.value.cause)
        await h.execute_update(SupplierWorkflow.reassign_ticket, ReassignInput(open_a, "in-house"))
        view = await h.execute_update(SupplierWorkflow.reassign_ticket, ReassignInput(open_b, "in-house"))
        assert view.status == "terminated"
        r = await deduct(h, "INC-late", "minor")  # still recorded after the exit
        view = await state(h)
    assert not r.exit_started and r.total == 110_000 and view.status == "terminated"
    assert kinds(view)[-8:] == ["appeal_filed", "appeal_upheld", "exit_confirmed", "open_tickets_listed",
                                "ticket_reassigned", "ticket_reassigned", "supplier_terminated",
                                "deduction_recorded"]
    kinds_stored = chain_ok(board, sid)
    assert kinds_stored.count("exit_notice") == 1 and kinds_stored[-1] == "deduction_recorded"


async def test_appeal_window_ends_without_appeal_after_ten_business_days(board: Board) -> None:
    async with board.worker():
        h = await exit_notice(board)
        view = await state(h)
        assert view.appeal_due is not None
        due = view.appeal_due
        await board.sleep(9 * DAY)
        assert (await state(h)).status == "exit_notice"
        await board.sleep(9 * DAY)  # 18 days > 10 business days + weekends
        view = await state(h)
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update(SupplierWorkflow.file_appeal, AppealInput("too late"))
    assert view.status == "terminated"  # no open tickets: exit, listing and termination at once
    assert kinds(view)[-3:] == ["exit_confirmed", "open_tickets_listed", "supplier_terminated"]
    confirmed = next(m for m in view.milestones if m.kind == "exit_confirmed")
    assert confirmed.at[:19] >= due[:19]


def test_business_days_skip_weekends_and_holidays() -> None:
    from datetime import UTC, datetime

    spec = POLICY.calendar.to_spec(range(2025, 2028))
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # Friday 18:00 in Shanghai
    due = add_business_days(spec, friday, 10)
    assert due.astimezone(UTC) == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)  # end of Fri 11 Dec, local
    spec.holidays = ["2026-12-01"]
    assert add_business_days(spec, friday, 10) == datetime(2026, 12, 14, 16, 0, tzinfo=UTC)


async def test_continue_as_new_keeps_total_incidents_and_chain(board: Board) -> None:
    async with board.worker():
        h = await board.start_supplier(contract_value=10_000_000, history_limit=3)
        first_run = (await h.describe()).run_id
        for i in range(8):
            await deduct(h, f"INC-{i}", "minor")  # 50 000 each
            await board.sleep(1)
        again = await deduct(h, "INC-0", "minor")  # remembered across runs
        await board.sleep(1)
        view = await state(h)
        last_run = (await h.describe()).run_id
        first = await board.client.get_workflow_handle(view.supplier_id, run_id=first_run).fetch_history()
    # A finished run (ended by continue-as-new) replays against the current code.
    await Replayer(workflows=[SupplierWorkflow], workflow_runner=SANDBOX).replay_workflow(first)
    assert last_run != first_run and view.runs >= 3
    assert again.duplicate and view.total == 400_000 and view.deduction_count == 8
    stored = chain_ok(board, view.supplier_id)  # one unbroken chain across runs
    assert stored.count("deduction_recorded") == 8 and "history_continued" in stored
    with board.session() as s:
        row = gov.get_supplier(session=s, supplier_id=view.supplier_id)
        assert row is not None and row.total == 400_000 and row.runs == view.runs


async def test_incident_signal_from_a_ticket_deducts_once(board: Board) -> None:
    async with board.worker():
        h = await board.start_supplier()
        incident = DeductionInput(incident_id="T-42:supplier", severity="critical", ticket_id="T-42")
        await h.signal(SupplierWorkflow.report_incident, incident)
        await h.signal(SupplierWorkflow.report_incident, incident)
        await h.signal(SupplierWorkflow.report_incident, DeductionInput("T-43:supplier", "no-such-severity"))
        await board.sleep(1)
        view = await state(h)
    assert view.total == 50_000 and view.deduction_count == 1
    assert view.recent[0].ticket_id == "T-42"
