"""The points rules, the ranking with its ties, and the month ledger's hash (pure code)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.points import (
    Entry,
    Event,
    PointsRules,
    derive_entries,
    evaluation_entries,
    ledger_root,
    month_bounds,
    previous_month,
    rank_agents,
)

RULES = PointsRules(sla_met=2, sla_breached=-5, rating={1: -4, 2: -2, 3: 0, 4: 2, 5: 4})
NOV = month_bounds("2026-11")


def ev(seq: int, kind: str, day: int, **data: str) -> Event:
    return Event("T-1", seq, kind, f"2026-11-{day:02d}T10:00:00.000000Z", data)


def test_month_bounds_and_previous_month() -> None:
    assert NOV == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert month_bounds("2026-12")[1] == datetime(2027, 1, 1, tzinfo=UTC)
    assert previous_month(datetime(2027, 1, 1, 2, tzinfo=UTC)) == "2026-12"
    assert previous_month(datetime(2026, 12, 1, 2, tzinfo=UTC)) == "2026-11"
    for bad in ("2026-13", "2026-1", "26-11", "november"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            month_bounds(bad)


def test_points_go_to_the_assignee_of_the_moment() -> None:
    history = [ev(0, "opened", 2), ev(1, "sla_breach", 2, clock="first_response"),  # before assignment
               ev(2, "assigned", 3, assignee="li.wei"), ev(3, "first_response", 3),
               ev(4, "assigned", 4, assignee="zhang.min"), ev(5, "resolved", 5), ev(6, "confirmed", 6, rating="5")]
    got = [(e.agent, e.rule, e.points) for e in derive_entries(history, RULES, *NOV)]
    # The breached first response earns nothing when it finally comes; resolution met; rating 5.
    assert got == [("zhang.min", "sla_met:resolution", 2), ("zhang.min", "rating:5", 4)]


def test_each_clock_is_met_once_and_events_outside_the_month_are_left_out() -> None:
    history = [ev(0, "assigned", 1, assignee="li.wei"), ev(1, "resolved", 2), ev(2, "reopened", 3),
               ev(3, "resolved", 4), Event("T-1", 4, "confirmed", "2026-12-01T00:00:00.000000Z", {"rating": "1"})]
    entries = derive_entries(history, RULES, *NOV)
    assert [(e.rule, e.source_key) for e in entries] == [("sla_met:first_response", "T-1:1:sla_met:first_response"),
                                                         ("sla_met:resolution", "T-1:1:sla_met:resolution")]


def test_top_five_percent_with_ties_on_the_line() -> None:
    totals = {f"agent-{i:02d}": 10 for i in range(38)}
    totals |= {"best": 50, "second": 30, "also-second": 30}  # 41 agents: ceil(2.05) = 3 places
    ranks = {r.agent: r for r in rank_agents(totals, 5)}
    assert [a for a, r in ranks.items() if r.flagged] == ["best", "also-second", "second"]
    assert (ranks["best"].rank, ranks["second"].rank, ranks["also-second"].rank) == (1, 2, 2)
    assert ranks["agent-00"].rank == 4 and not ranks["agent-00"].flagged

    totals = {f"agent-{i:02d}": 10 for i in range(20)}  # 20 agents: one place, but all tie for it
    assert all(r.flagged for r in rank_agents(totals, 5))
    two = rank_agents({"a": 9, "b": 9, "c": 1, **{f"x{i}": 0 for i in range(37)}}, 5)  # 40 agents: 2 places
    assert [r.agent for r in two if r.flagged] == ["a", "b"]
    assert not any(r.flagged for r in rank_agents({"a": 0, "b": -3}, 5))  # nothing earned, nothing rewarded
    assert rank_agents({}, 5) == []


def test_ledger_root_changes_with_any_edit_and_not_with_order() -> None:
    entries = [Entry("li.wei", f"T-{i}:3:rating:5", "rating:5", 4, f"T-{i}", "2026-11-03T10:00:00.000000Z")
               for i in range(5)]
    root = ledger_root("2026-11", entries)
    assert ledger_root("2026-11", list(reversed(entries))) == root
    edited = [*entries[:2], Entry("li.wei", entries[2].source_key, "rating:5", 40, "T-2", entries[2].event_at),
              *entries[3:]]
    assert ledger_root("2026-11", edited) != root
    assert ledger_root("2026-11", entries[:-1]) != root
    assert ledger_root("2026-12", entries) != root


def test_a_mystery_shoppers_scores_count_from_the_middle_of_each_scale() -> None:
    rules = PointsRules(sla_met=2, sla_breached=-5, rating={}, mystery_points_per_step=2,
                        mystery_scales={"professionalism": (1, 5), "process_compliance": (0, 10)})
    entries = evaluation_entries("eval-EV-1", "li.wei", "2026-11-20T02:30:00.000000Z",
                                 {"professionalism": 5, "process_compliance": 3}, rules)
    assert [(e.rule, e.points, e.source_key) for e in entries] == [
        ("mystery:process_compliance", -4, "eval-EV-1:0:mystery:process_compliance"),
        ("mystery:professionalism", 4, "eval-EV-1:0:mystery:professionalism")]
    assert rules.digest() != PointsRules(sla_met=2, sla_breached=-5, rating={}, mystery_points_per_step=1,
                                         mystery_scales=rules.mystery_scales).digest()
