"""SLA clock edge cases found by mutation testing (`make mutate`): each test pins one rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from domain.business_calendar import CalendarSpec
from domain.sla_clock import SlaClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALWAYS = CalendarSpec()
CN = CalendarSpec(timezone="Asia/Shanghai", always_open=False,
                  hours={day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
T0 = datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI)  # a Wednesday, opening time


class NoOffset(tzinfo):
    """A time zone that does not know its offset: such a time is not an instant."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_clock_keeps_its_name() -> None:
    assert SlaClock.start("first_response", 1800, T0).name == "first_response"


def test_every_hold_adds_to_the_paused_time() -> None:
    clock = SlaClock.start("resolution", 48 * 3600, T0)
    clock.pause(ALWAYS, T0 + timedelta(minutes=10))
    clock.resume(ALWAYS, T0 + timedelta(minutes=40))  # 30 min on hold
    clock.pause(ALWAYS, T0 + timedelta(minutes=50))
    clock.resume(ALWAYS, T0 + timedelta(minutes=70))  # 20 more
    assert clock.paused_seconds == 50 * 60
    clock.pause(ALWAYS, T0 + timedelta(minutes=80))
    clock.stop(ALWAYS, T0 + timedelta(minutes=85))  # stopped while on hold: 5 more
    assert clock.paused_seconds == 55 * 60
    assert clock.elapsed(ALWAYS, T0 + timedelta(hours=5)) == 30 * 60


def test_warning_levels_are_positive_integer_percents() -> None:
    clock = SlaClock.start("first_response", 100, T0)
    assert clock.due_events(ALWAYS, T0 + timedelta(seconds=1), [1]) == ["warning:1"]
    for bad in ([True], [0], [-5], [50.0]):
        with pytest.raises(ValueError, match="positive integer percents"):
            clock.due_events(ALWAYS, T0, bad)  # type: ignore[arg-type]


def test_instants_are_in_utc() -> None:
    clock = SlaClock.start("first_response", 1800, T0)
    deadline = clock.deadline(ALWAYS)
    assert deadline is not None and deadline.tzinfo is UTC
    assert deadline == T0 + timedelta(minutes=30)
    clock.pause(ALWAYS, T0 + timedelta(minutes=40))
    clock.resume(ALWAYS, T0 + timedelta(minutes=45))
    already = clock.instant_at(ALWAYS, 0.5)  # reached before the current run
    assert already is not None and already.tzinfo is UTC and already == T0 + timedelta(minutes=45)


def test_a_threshold_reached_exactly_is_due_at_the_restart_even_out_of_hours() -> None:
    # 30 business minutes used, then stopped; reopened on a Wednesday night: the 30-minute breach
    # instant is the restart itself, not the next morning's opening.
    clock = SlaClock.start("first_response", 1800, T0)
    clock.stop(CN, T0 + timedelta(minutes=30))
    night = T0 + timedelta(hours=13)  # 22:00, closed
    clock.restart(night)
    assert clock.deadline(CN) == night.astimezone(UTC)
    assert clock.deadline(CN).tzinfo is UTC  # type: ignore[union-attr]


def test_a_time_without_an_offset_is_refused() -> None:
    clock = SlaClock.start("first_response", 1800, T0)
    for bad in (datetime(2024, 6, 12, 9, 0), datetime(2024, 6, 12, 9, 0, tzinfo=NoOffset())):
        with pytest.raises(ValueError, match="timezone-aware"):
            clock.elapsed(ALWAYS, bad)
    with pytest.raises(ValueError, match="timezone-aware"):
        SlaClock.start("first_response", 1800, datetime(2024, 6, 12, 9, 0, tzinfo=NoOffset()))


def test_a_warning_at_the_target_comes_before_the_breach() -> None:
    clock = SlaClock.start("first_response", 1800, T0)
    assert clock.due_events(ALWAYS, T0 + timedelta(minutes=30), [100, 50]) == ["warning:50", "warning:100", "breach"]
