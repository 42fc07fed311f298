"""Every SLA event of a clock fires at most once, whatever a ticket goes through (reopenings included).

The workflow fires ``due_events`` and marks them fired; these tests drive a clock the same way
through any sequence of pauses, resumes, stops, restarts and retargets, and count the firings.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_calendar import CalendarSpec
from domain.sla_clock import BREACH, SlaClock, warning_key

LEVELS = [75, 90]
ALWAYS = CalendarSpec()
CN = CalendarSpec(timezone="Asia/Shanghai", always_open=False,
                  hours={day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
T0 = datetime(2024, 6, 12, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _fire(clock: SlaClock, cal: CalendarSpec, now: datetime, fired: Counter[str]) -> None:
    for key in clock.due_events(cal, now, LEVELS):
        clock.mark_fired(key)
        fired[key] += 1


def test_breached_resolved_reopened_resolved_again_fires_once() -> None:
    fired: Counter[str] = Counter()
    clock = SlaClock.start("resolution", 48 * 3600, T0)
    now = T0 + timedelta(hours=49)
    _fire(clock, ALWAYS, now, fired)
    assert clock.outcome(ALWAYS, now) == "breached"
    for _ in range(3):
        clock.stop(ALWAYS, now)  # resolved
        now += timedelta(hours=2)
        clock.restart(now)  # reopened: its elapsed time is already past the target
        assert clock.due_events(ALWAYS, now, LEVELS) == []
        assert clock.next_event_at(ALWAYS, LEVELS) is None  # nothing left to wake up for
        now += timedelta(hours=30)
        _fire(clock, ALWAYS, now, fired)
        assert clock.outcome(ALWAYS, now) == "breached"
    assert fired == Counter({warning_key(75): 1, warning_key(90): 1, BREACH: 1})
    assert clock.fired == [warning_key(75), warning_key(90), BREACH]


OPS = st.lists(st.tuples(st.sampled_from(["pause", "resume", "stop", "restart", "retarget", "fire"]),
                         st.integers(min_value=0, max_value=30 * 3600),
                         st.integers(min_value=0, max_value=60 * 3600)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(ops=OPS, target=st.integers(min_value=0, max_value=40 * 3600), business=st.booleans())
def test_no_event_fires_twice_whatever_the_ticket_goes_through(ops: list[tuple[str, int, int]], target: int,
                                                                business: bool) -> None:
    cal = CN if business else ALWAYS
    fired: Counter[str] = Counter()
    clock = SlaClock.start("resolution", target, T0)
    now = T0
    for op, step, new_target in ops:
        now += timedelta(seconds=step)
        if op == "pause":
            clock.pause(cal, now)
        elif op == "resume":
            clock.resume(cal, now)
        elif op == "stop":
            clock.stop(cal, now)
        elif op == "restart":
            clock.restart(now)
        elif op == "retarget":
            clock.retarget(new_target)
        _fire(clock, cal, now, fired)
        # What fired stays fired, and is never due or awaited again.
        assert all(count == 1 for count in fired.values()), fired
        assert set(clock.fired) == set(fired)
        assert not set(clock.due_events(cal, now, LEVELS)) & set(fired)
    if BREACH in fired:
        assert clock.outcome(cal, now) == "breached"
