"""SLA clock: pauses, stops, reopenings, retargets, and the order and timing of its events."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_calendar import CalendarSpec, business_seconds
from domain.sla_clock import SlaClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = 60
HOUR = 3600
LEVELS = [75, 90]

ALWAYS = CalendarSpec()
CN = CalendarSpec(
    timezone="Asia/Shanghai",
    always_open=False,
    hours={day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    holidays=["2024-06-10"],
    workdays=["2024-10-12"],
)

T0 = datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI)  # a Wednesday, opening time


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_start_and_run() -> None:
    clock = SlaClock.start("first_response", 30 * MINUTE, T0)
    assert clock.running and not clock.paused and not clock.stopped
    assert clock.elapsed(ALWAYS, at(10)) == 10 * MINUTE
    assert clock.remaining(ALWAYS, at(10)) == 20 * MINUTE
    assert clock.deadline(ALWAYS) == at(30)
    assert clock.instant_at(ALWAYS, 0.5) == at(15)
    assert clock.outcome(ALWAYS, at(29)) == "pending"
    assert clock.outcome(ALWAYS, at(30)) == "breached"
    assert clock.remaining(ALWAYS, at(40)) == -10 * MINUTE


def test_friday_evening_ticket_on_business_calendar() -> None:
    clock = SlaClock.start("first_response", 30 * MINUTE, sh(2024, 6, 14, 17, 45))
    assert clock.deadline(CN) == sh(2024, 6, 17, 9, 15)
    assert clock.instant_at(CN, 0.5) == sh(2024, 6, 14, 18, 0)
    assert clock.elapsed(CN, sh(2024, 6, 16, 23, 0)) == 15 * MINUTE  # the weekend is free
    assert clock.due_events(CN, sh(2024, 6, 17, 9, 0), LEVELS) == []
    assert clock.next_event_at(CN, LEVELS) == sh(2024, 6, 17, 9, 7, 30)  # 75 %: 22.5 min
    # Before the Dragon Boat holiday Monday, the deadline moves to Tuesday.
    clock = SlaClock.start("first_response", 30 * MINUTE, sh(2024, 6, 7, 17, 45))
    assert clock.deadline(CN) == sh(2024, 6, 11, 9, 15)


def test_pause_is_excluded() -> None:
    clock = SlaClock.start("resolution", 30 * MINUTE, T0)
    clock.pause(ALWAYS, at(10))
    assert clock.paused and not clock.running
    assert clock.elapsed(ALWAYS, at(50)) == 10 * MINUTE
    assert clock.paused_total(at(50)) == 40 * MINUTE
    assert clock.deadline(ALWAYS) is None
    assert clock.next_event_at(ALWAYS, LEVELS) is None
    assert clock.due_events(ALWAYS, at(500), LEVELS) == []
    clock.resume(ALWAYS, at(60))
    assert clock.paused_seconds == 50 * MINUTE
    assert clock.deadline(ALWAYS) == at(80)
    assert clock.elapsed(ALWAYS, at(80)) == 30 * MINUTE
    assert clock.paused_total(at(80)) == 50 * MINUTE


def test_pause_on_business_calendar_counts_only_open_time() -> None:
    clock = SlaClock.start("resolution", 8 * HOUR, sh(2024, 6, 14, 17, 0))  # Friday
    clock.pause(CN, sh(2024, 6, 17, 10, 0))  # Monday: 1 h on Friday + 1 h on Monday
    assert clock.elapsed_seconds == 2 * HOUR
    clock.resume(CN, sh(2024, 6, 17, 15, 0))
    assert clock.paused_seconds == 5 * HOUR  # wall time, lunch included
    # 6 h left from Monday 15:00: 3 h on Monday, 3 h on Tuesday morning.
    assert clock.deadline(CN) == sh(2024, 6, 18, 12, 0)


def test_stop_from_paused_counts_the_hold_as_paused() -> None:
    clock = SlaClock.start("resolution", 30 * MINUTE, T0)
    clock.pause(ALWAYS, at(10))
    clock.stop(ALWAYS, at(40))
    assert clock.stopped and not clock.paused and not clock.running
    assert clock.stopped_at == at(40)
    assert clock.elapsed(ALWAYS, at(100)) == 10 * MINUTE
    assert clock.paused_total(at(100)) == 30 * MINUTE
    assert clock.outcome(ALWAYS, at(100)) == "met"
    assert clock.deadline(ALWAYS) is None


def test_stop_from_running_adds_elapsed() -> None:
    clock = SlaClock.start("first_response", 30 * MINUTE, T0)
    clock.stop(ALWAYS, at(12))
    assert clock.elapsed(ALWAYS, at(100)) == 12 * MINUTE
    assert clock.paused_total(at(100)) == 0
    assert clock.outcome(ALWAYS, at(100)) == "met"


def test_priority_change_during_pause_keeps_elapsed_and_paused() -> None:
    clock = SlaClock.start("resolution", 30 * MINUTE, T0)
    clock.pause(ALWAYS, at(10))
    clock.retarget(60 * MINUTE)
    assert clock.paused
    assert clock.elapsed(ALWAYS, at(40)) == 10 * MINUTE
    assert clock.paused_total(at(40)) == 30 * MINUTE
    clock.resume(ALWAYS, at(40))
    assert clock.deadline(ALWAYS) == at(90)  # 50 min left from 40
    assert clock.paused_total(at(90)) == 30 * MINUTE


def test_reopen_does_not_count_the_gap() -> None:
    clock = SlaClock.start("resolution", 48 * HOUR, T0)
    clock.pause(ALWAYS, at(60))
    clock.resume(ALWAYS, at(90))
    clock.stop(ALWAYS, at(120))  # resolved: 90 min used, 30 min paused
    assert clock.outcome(ALWAYS, at(120)) == "met"
    reopened = at(120) + timedelta(days=3)
    clock.restart(reopened)
    assert clock.running and not clock.stopped
    assert clock.elapsed(ALWAYS, reopened) == 90 * MINUTE
    assert clock.paused_total(reopened) == 30 * MINUTE
    assert clock.elapsed(ALWAYS, reopened + timedelta(hours=1)) == 150 * MINUTE
    assert clock.deadline(ALWAYS) == reopened + timedelta(hours=48, minutes=-90)
    assert clock.started_at == T0
    assert clock.outcome(ALWAYS, reopened) == "pending"


def test_no_op_transitions() -> None:
    clock = SlaClock.start("resolution", 30 * MINUTE, T0)
    clock.resume(ALWAYS, at(5))  # not paused
    clock.restart(at(5))  # not stopped
    assert clock.running_since == T0
    clock.pause(ALWAYS, at(10))
    clock.pause(ALWAYS, at(20))  # already paused
    assert clock.paused_since == at(10)
    clock.restart(at(25))  # paused, not stopped
    assert clock.paused
    clock.stop(ALWAYS, at(30))
    clock.stop(ALWAYS, at(40))  # already stopped
    clock.pause(ALWAYS, at(45))
    clock.resume(ALWAYS, at(50))
    assert clock.stopped_at == at(30)
    assert clock.elapsed(ALWAYS, at(60)) == 10 * MINUTE
    assert clock.paused_total(at(60)) == 20 * MINUTE


def test_warnings_then_breach_in_order() -> None:
    clock = SlaClock.start("first_response", 30 * MINUTE, T0)
    assert clock.due_events(ALWAYS, at(22), LEVELS) == []
    assert clock.next_event_at(ALWAYS, [90, 75]) == at(22.5)
    assert clock.due_events(ALWAYS, at(22.5), [90, 75]) == ["warning:75"]
    clock.mark_fired("warning:75")
    clock.mark_fired("warning:75")
    assert clock.fired == ["warning:75"]
    assert clock.next_event_at(ALWAYS, LEVELS) == at(27)
    assert clock.due_events(ALWAYS, at(26.9), LEVELS) == []
    # A worker that wakes late sees everything that is due, in firing order.
    assert clock.due_events(ALWAYS, at(45), LEVELS) == ["warning:90", "breach"]
    for key in clock.due_events(ALWAYS, at(45), LEVELS):
        clock.mark_fired(key)
    assert clock.due_events(ALWAYS, at(45), LEVELS) == []
    assert clock.next_event_at(ALWAYS, LEVELS) is None
    assert clock.outcome(ALWAYS, at(45)) == "breached"


def test_event_due_exactly_at_its_instant_on_business_calendar() -> None:
    clock = SlaClock.start("first_response", 1000.3, sh(2024, 6, 14, 17, 50, 0, 123))
    for key, fraction in (("warning:75", 0.75), ("warning:90", 0.9), ("breach", 1.0)):
        instant = clock.next_event_at(CN, LEVELS)
        assert instant == clock.instant_at(CN, fraction)
        assert instant is not None
        assert clock.due_events(CN, instant - timedelta(microseconds=1), LEVELS) == []
        assert clock.due_events(CN, instant, LEVELS) == [key]
        clock.mark_fired(key)


def test_target_with_a_fraction_of_a_microsecond() -> None:
    # Thresholds are rounded up to whole microseconds, exactly as add_business_time rounds.
    clock = SlaClock.start("first_response", 1.4453125, T0)
    deadline = clock.deadline(CN)
    assert deadline == T0 + timedelta(microseconds=1_445_313)
    assert clock.due_events(CN, deadline - timedelta(microseconds=1), []) == []
    assert clock.outcome(CN, deadline - timedelta(microseconds=1)) == "pending"
    assert clock.due_events(CN, deadline, []) == ["breach"]
    assert clock.outcome(CN, deadline) == "breached"


def test_event_passed_before_pause_stays_due() -> None:
    clock = SlaClock.start("first_response", 30 * MINUTE, T0)
    clock.pause(ALWAYS, at(25))
    assert clock.due_events(ALWAYS, at(26), LEVELS) == ["warning:75"]
    clock.stop(ALWAYS, at(28))
    assert clock.due_events(ALWAYS, at(90), LEVELS) == ["warning:75"]
    assert clock.outcome(ALWAYS, at(90)) == "met"


def test_event_already_due_when_resumed_fires_at_once() -> None:
    clock = SlaClock.start("first_response", 30 * MINUTE, T0)
    clock.pause(ALWAYS, at(25))
    clock.resume(ALWAYS, at(40))
    assert clock.instant_at(ALWAYS, 0.75) == at(40)
    assert clock.next_event_at(ALWAYS, LEVELS) == at(40)
    assert clock.due_events(ALWAYS, at(40), LEVELS) == ["warning:75"]
    clock.mark_fired("warning:75")
    assert clock.next_event_at(ALWAYS, LEVELS) == at(42)


def test_retarget_longer_moves_unfired_breach() -> None:
    clock = SlaClock.start("resolution", 30 * MINUTE, T0)
    clock.mark_fired("warning:75")  # fired at 22.5 min
    clock.retarget(60 * MINUTE)
    assert clock.deadline(ALWAYS) == at(60)
    assert clock.due_events(ALWAYS, at(35), LEVELS) == []
    # warning:75 stays fired although its threshold is now 45 min.
    assert clock.next_event_at(ALWAYS, LEVELS) == at(54)
    assert clock.due_events(ALWAYS, at(60), LEVELS) == ["warning:90", "breach"]


def test_retarget_shorter_already_exceeded_is_due_now() -> None:
    clock = SlaClock.start("resolution", 60 * MINUTE, T0)
    clock.pause(ALWAYS, at(25))
    assert clock.due_events(ALWAYS, at(26), LEVELS) == []
    clock.retarget(20 * MINUTE)
    assert clock.due_events(ALWAYS, at(26), LEVELS) == ["warning:75", "warning:90", "breach"]
    assert clock.outcome(ALWAYS, at(26)) == "breached"
    clock.resume(ALWAYS, at(30))
    assert clock.deadline(ALWAYS) == at(30)
    assert clock.next_event_at(ALWAYS, LEVELS) == at(30)


def test_fired_breach_stays_breached_after_longer_target() -> None:
    clock = SlaClock.start("resolution", 30 * MINUTE, T0)
    clock.mark_fired("breach")
    clock.retarget(2 * HOUR)
    clock.stop(ALWAYS, at(40))
    assert clock.outcome(ALWAYS, at(40)) == "breached"


def test_breach_stopped_late_is_breached() -> None:
    clock = SlaClock.start("first_response", 30 * MINUTE, T0)
    clock.stop(ALWAYS, at(31))
    assert clock.outcome(ALWAYS, at(31)) == "breached"
    assert clock.due_events(ALWAYS, at(31), LEVELS) == ["warning:75", "warning:90", "breach"]


def test_clock_state_is_plain_data() -> None:
    clock = SlaClock.start("resolution", 30 * MINUTE, T0)
    clock.pause(ALWAYS, at(10))
    clock.mark_fired("warning:75")
    copy = SlaClock(**dataclasses.asdict(clock))
    assert copy == clock
    assert copy.elapsed(ALWAYS, at(20)) == clock.elapsed(ALWAYS, at(20))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="naive"):
        SlaClock.start("resolution", 60, datetime(2024, 6, 12))
    clock = SlaClock.start("resolution", 60, T0)
    with pytest.raises(ValueError, match="naive"):
        clock.pause(ALWAYS, datetime(2024, 6, 12))
    with pytest.raises(ValueError, match="target"):
        clock.retarget(-1)
    with pytest.raises(ValueError, match="warning levels"):
        clock.due_events(ALWAYS, at(1), [0])


# --- properties --------------------------------------------------------------------------------

ops = st.lists(
    st.tuples(st.sampled_from(["pause", "resume", "stop", "restart", "retarget"]), st.integers(0, 6 * HOUR)),
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([ALWAYS, CN]),
    st.floats(1e-3, 10 * HOUR),
    ops,
    st.floats(0.05, 1.5),
)
def test_events_fire_at_their_instant_after_any_history(
    cal: CalendarSpec, target: float, history: list[tuple[str, int]], fraction: float
) -> None:
    now = T0
    clock = SlaClock.start("resolution", target, now)
    last_elapsed = 0.0
    for op, gap in history:
        now += timedelta(seconds=gap)
        if op == "pause":
            clock.pause(cal, now)
        elif op == "resume":
            clock.resume(cal, now)
        elif op == "stop":
            clock.stop(cal, now)
        elif op == "restart":
            clock.restart(now)
        else:
            clock.retarget(float(gap + 1))
        elapsed = clock.elapsed(cal, now)
        assert elapsed >= last_elapsed - 1e-9  # business time never runs backwards
        last_elapsed = elapsed
        assert sum([clock.running, clock.paused, clock.stopped]) == 1
        # Business time used plus time on hold never exceeds the wall time since the start.
        wall = (now - clock.started_at).total_seconds()
        assert elapsed <= business_seconds(cal, clock.started_at, now) + 1e-6
        assert clock.paused_total(now) <= wall + 1e-6
    instant = clock.instant_at(cal, fraction)
    if not clock.running:
        assert instant is None
        return
    assert instant is not None
    assert clock.elapsed(cal, instant) >= fraction * clock.target_seconds - 1e-6
    deadline = clock.deadline(cal)
    assert deadline is not None and clock.due_events(cal, deadline, LEVELS)[-1:] == ["breach"]
    if deadline > now:
        assert "breach" not in clock.due_events(cal, deadline - timedelta(microseconds=1), LEVELS)
