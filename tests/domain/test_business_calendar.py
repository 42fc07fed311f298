"""Business-calendar math: worked examples with explicit instants, validation, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_calendar import (
    CalendarSpec,
    add_business_time,
    business_seconds,
    is_open,
    validate_calendar,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MINUTE = 60
HOUR = 3600

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri")
CN_DAY = [["09:00", "12:00"], ["13:30", "18:00"]]  # 7.5 h with a 90-minute lunch break


def cn_calendar(**overrides: object) -> CalendarSpec:
    """Shanghai office hours; 2024 Dragon Boat (Mon 10 Jun) off, make-up Saturday 12 Oct on."""
    spec = CalendarSpec(
        timezone="Asia/Shanghai",
        always_open=False,
        hours={day: CN_DAY for day in WEEKDAY_KEYS},
        holidays=["2024-06-10", "2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07"],
        workdays=["2024-09-29", "2024-10-12"],
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


def berlin_calendar() -> CalendarSpec:
    return CalendarSpec(
        timezone="Europe/Berlin",
        always_open=False,
        hours={day: [["09:00", "17:00"]] for day in WEEKDAY_KEYS},
    )


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- worked examples -------------------------------------------------------------------------


def test_friday_evening_ticket_first_response_lands_monday() -> None:
    cal = cn_calendar()
    # Opened after closing on Friday 2024-06-14: the 30 minutes run from Monday 09:00.
    assert add_business_time(cal, sh(2024, 6, 14, 18, 30), 30 * MINUTE) == sh(2024, 6, 17, 9, 30)
    # Opened Friday 17:45: 15 minutes on Friday, the other 15 on Monday morning.
    assert add_business_time(cal, sh(2024, 6, 14, 17, 45), 30 * MINUTE) == sh(2024, 6, 17, 9, 15)


def test_friday_1730_with_exactly_thirty_minutes_left_is_due_at_closing() -> None:
    # The earliest instant with 30 business minutes used is Friday 18:00 (closing), not Monday
    # 09:00: at 18:00 the full half hour has elapsed, so that is when the SLA is breached.
    cal = cn_calendar()
    start = sh(2024, 6, 14, 17, 30)
    due = add_business_time(cal, start, 30 * MINUTE)
    assert due == sh(2024, 6, 14, 18, 0)
    assert business_seconds(cal, start, sh(2024, 6, 17, 9, 0)) == 30 * MINUTE
    assert not is_open(cal, due)
    assert is_open(cal, sh(2024, 6, 17, 9, 0))


def test_result_is_utc_and_inputs_in_any_zone() -> None:
    cal = cn_calendar()
    start_utc = utc(2024, 6, 14, 9, 45)  # Friday 17:45 in Shanghai
    due = add_business_time(cal, start_utc, 30 * MINUTE)
    assert due.tzinfo is UTC
    assert due == utc(2024, 6, 17, 1, 15)  # Monday 09:15 Shanghai
    start_ny = start_utc.astimezone(NEW_YORK)  # Friday 05:45 in New York
    assert add_business_time(cal, start_ny, 30 * MINUTE) == due
    assert business_seconds(cal, start_ny, due.astimezone(BERLIN)) == 30 * MINUTE


def test_lunch_break_is_skipped() -> None:
    cal = cn_calendar()
    assert add_business_time(cal, sh(2024, 6, 12, 11, 45), 30 * MINUTE) == sh(2024, 6, 12, 13, 45)
    assert business_seconds(cal, sh(2024, 6, 12, 11, 0), sh(2024, 6, 12, 14, 0)) == 90 * MINUTE
    assert is_open(cal, sh(2024, 6, 12, 11, 59))
    assert not is_open(cal, sh(2024, 6, 12, 12, 0))
    assert not is_open(cal, sh(2024, 6, 12, 13, 29))
    assert is_open(cal, sh(2024, 6, 12, 13, 30))
    # A start inside the break waits for the afternoon.
    assert add_business_time(cal, sh(2024, 6, 12, 12, 20), 10 * MINUTE) == sh(2024, 6, 12, 13, 40)


def test_holiday_monday_is_closed() -> None:
    cal = cn_calendar()
    assert not is_open(cal, sh(2024, 6, 10, 10, 0))
    assert business_seconds(cal, sh(2024, 6, 10), sh(2024, 6, 11)) == 0.0
    # Friday 17:45 before the Dragon Boat Festival: the rest lands on Tuesday.
    assert add_business_time(cal, sh(2024, 6, 7, 17, 45), 30 * MINUTE) == sh(2024, 6, 11, 9, 15)
    assert add_business_time(cal, sh(2024, 6, 7, 17, 30), 30 * MINUTE) == sh(2024, 6, 7, 18, 0)
    # Without the holiday the same ticket would land on Monday.
    plain = cn_calendar(holidays=[])
    assert add_business_time(plain, sh(2024, 6, 7, 17, 45), 30 * MINUTE) == sh(2024, 6, 10, 9, 15)


def test_makeup_saturday_is_open_with_monday_hours() -> None:
    cal = cn_calendar()
    assert is_open(cal, sh(2024, 10, 12, 9, 0))
    assert not is_open(cal, sh(2024, 10, 12, 12, 30))  # lunch break applies too
    assert not is_open(cal, sh(2024, 10, 19, 9, 0))  # an ordinary Saturday
    assert add_business_time(cal, sh(2024, 10, 11, 17, 45), 30 * MINUTE) == sh(2024, 10, 12, 9, 15)
    assert business_seconds(cal, sh(2024, 10, 12), sh(2024, 10, 13)) == 7.5 * HOUR


def test_makeup_workday_with_own_hours() -> None:
    cal = cn_calendar(workday_hours=[["10:00", "16:00"]])
    assert not is_open(cal, sh(2024, 10, 12, 9, 30))
    assert add_business_time(cal, sh(2024, 10, 11, 17, 45), 30 * MINUTE) == sh(2024, 10, 12, 10, 15)
    assert business_seconds(cal, sh(2024, 10, 12), sh(2024, 10, 13)) == 6 * HOUR


def test_national_day_week_with_sunday_makeup_day() -> None:
    cal = cn_calendar()
    # Sunday 29 Sep is a make-up workday, 1-4 and 7 Oct are holidays, 5-6 Oct a weekend.
    start = sh(2024, 9, 27, 17, 0)  # Friday
    assert add_business_time(cal, start, 2 * HOUR) == sh(2024, 9, 29, 10, 0)
    assert add_business_time(cal, sh(2024, 9, 30, 17, 0), 2 * HOUR) == sh(2024, 10, 8, 10, 0)


def test_48_hour_resolution_on_24x7() -> None:
    cal = CalendarSpec()
    start = sh(2024, 6, 14, 17, 30)
    assert add_business_time(cal, start, 48 * HOUR) == sh(2024, 6, 16, 17, 30)
    assert business_seconds(cal, start, start + timedelta(hours=48)) == 48 * HOUR
    assert is_open(cal, sh(2024, 6, 16, 3, 0))


def test_24x7_counts_real_time_across_dst() -> None:
    cal = CalendarSpec(timezone="Europe/Berlin")
    start = berlin(2024, 3, 30, 12, 0)  # CET, the day before the clocks go forward
    assert add_business_time(cal, start, 48 * HOUR) == berlin(2024, 4, 1, 13, 0)  # CEST
    assert business_seconds(cal, berlin(2024, 3, 31), berlin(2024, 4, 1)) == 23 * HOUR


def test_dst_office_hours_keep_local_wall_clock() -> None:
    cal = berlin_calendar()
    # Spring forward on Sunday 31 Mar 2024: Friday 16:00 CET + 2 h -> Monday 10:00 CEST.
    due = add_business_time(cal, berlin(2024, 3, 29, 16, 0), 2 * HOUR)
    assert due == berlin(2024, 4, 1, 10, 0)
    assert due == utc(2024, 4, 1, 8, 0)
    # Fall back on Sunday 27 Oct 2024: Friday 16:00 CEST + 2 h -> Monday 10:00 CET.
    due = add_business_time(cal, berlin(2024, 10, 25, 16, 0), 2 * HOUR)
    assert due == utc(2024, 10, 28, 9, 0)
    assert business_seconds(cal, berlin(2024, 3, 25), berlin(2024, 4, 6)) == 80 * HOUR


def test_dst_days_are_23_and_25_hours_long() -> None:
    cal = CalendarSpec(timezone="Europe/Berlin", always_open=False, hours={"sun": [["00:00", "24:00"]]})
    assert business_seconds(cal, berlin(2024, 3, 31), berlin(2024, 4, 1)) == 23 * HOUR
    assert business_seconds(cal, berlin(2024, 10, 27), berlin(2024, 10, 28)) == 25 * HOUR
    night = CalendarSpec(timezone="Europe/Berlin", always_open=False, hours={"sun": [["01:00", "04:00"]]})
    assert business_seconds(night, berlin(2024, 3, 31), berlin(2024, 4, 1)) == 2 * HOUR
    assert business_seconds(night, berlin(2024, 10, 27), berlin(2024, 10, 28)) == 4 * HOUR


def test_interval_starting_in_dst_gap_opens_at_the_transition() -> None:
    cal = CalendarSpec(timezone="Europe/Berlin", always_open=False, hours={"sun": [["02:30", "04:00"]]})
    assert business_seconds(cal, berlin(2024, 3, 31), berlin(2024, 4, 1)) == 1 * HOUR
    assert add_business_time(cal, berlin(2024, 3, 30), 60) == utc(2024, 3, 31, 1, 1)  # 03:01 CEST
    assert business_seconds(cal, berlin(2024, 3, 24), berlin(2024, 3, 25)) == 1.5 * HOUR


def test_interval_ending_at_midnight() -> None:
    cal = CalendarSpec(timezone="UTC", always_open=False, hours={"mon": [["20:00", "24:00"]]})
    assert add_business_time(cal, utc(2024, 6, 10, 23, 0), 2 * HOUR) == utc(2024, 6, 17, 21, 0)
    assert is_open(cal, utc(2024, 6, 10, 23, 59, 59))
    assert not is_open(cal, utc(2024, 6, 11, 0, 0))


def test_zero_and_reversed() -> None:
    cal = cn_calendar()
    start = sh(2024, 6, 15, 3, 0)  # closed (Saturday night)
    assert add_business_time(cal, start, 0) == start
    assert add_business_time(cal, start, 0).tzinfo is UTC
    assert business_seconds(cal, start, start) == 0.0
    assert business_seconds(cal, start, start - timedelta(days=3)) == 0.0


def test_microseconds_are_kept() -> None:
    cal = cn_calendar()
    start = sh(2024, 6, 12, 9, 0, 0, 1)
    assert add_business_time(cal, start, 0.5) == sh(2024, 6, 12, 9, 0, 0, 500_001)
    assert business_seconds(cal, start, sh(2024, 6, 12, 9, 0, 1)) == 0.999999


def test_naive_and_bad_arguments_rejected() -> None:
    cal = cn_calendar()
    with pytest.raises(ValueError, match="naive"):
        business_seconds(cal, datetime(2024, 6, 12), sh(2024, 6, 13))
    with pytest.raises(ValueError, match="naive"):
        add_business_time(cal, datetime(2024, 6, 12), 10)
    with pytest.raises(ValueError, match="naive"):
        is_open(cal, datetime(2024, 6, 12))
    with pytest.raises(ValueError, match="seconds"):
        add_business_time(cal, sh(2024, 6, 12), -1)
    with pytest.raises(ValueError, match="seconds"):
        add_business_time(cal, sh(2024, 6, 12), float("nan"))


@pytest.mark.timeout(30)  # a calendar that never opens must be refused, not searched for ever
def test_calendar_without_open_time_fails_fast() -> None:
    closed = CalendarSpec(timezone="UTC", always_open=False, hours={})
    with pytest.raises(ValueError, match="no open time"):
        validate_calendar(closed)
    with pytest.raises(ValueError, match="no open time"):
        add_business_time(closed, utc(2024, 1, 1), 1)
    assert business_seconds(closed, utc(2024, 1, 1), utc(2025, 1, 1)) == 0.0
    # Open only on listed make-up days: time after the last one never comes.
    sparse = CalendarSpec(
        timezone="UTC", always_open=False, workdays=["2024-01-06"], workday_hours=[["09:00", "10:00"]]
    )
    validate_calendar(sparse)
    assert add_business_time(sparse, utc(2024, 1, 1), HOUR) == utc(2024, 1, 6, 10, 0)
    with pytest.raises(ValueError, match="no open time"):
        add_business_time(sparse, utc(2024, 1, 1), HOUR + 1)


def test_ten_years_of_business_time_add_up_exactly() -> None:
    # Speed is the benchmarks' business (bench/), not a timed assertion that fails on a busy machine.
    cal = cn_calendar()
    total = business_seconds(cal, sh(2020, 1, 1), sh(2030, 1, 1))
    later = add_business_time(cal, sh(2020, 1, 1), total)
    # 2609 weekdays, minus the 6 weekday holidays, plus the 2 make-up days, 7.5 h each.
    assert total == (2609 - 6 + 2) * 7.5 * HOUR
    assert later == sh(2029, 12, 31, 18, 0)


def test_mutating_a_spec_is_seen_by_the_next_call() -> None:
    cal = cn_calendar(holidays=[])
    assert is_open(cal, sh(2024, 6, 10, 10, 0))
    cal.holidays.append("2024-06-10")
    assert not is_open(cal, sh(2024, 6, 10, 10, 0))
    cal.always_open = True
    assert is_open(cal, sh(2024, 6, 10, 3, 0))


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "America"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"hours": {"monday": [["09:00", "17:00"]]}}, "hours"),
        ({"hours": {"mon": [["9:00", "17:00"]]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": [["09:60", "17:00"]]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": [["09:00", "24:30"]]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": [["17:00", "09:00"]]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": [["09:00", "09:00"]]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": [["09:00", "12:00"], ["11:00", "14:00"]]}}, r"hours\['mon'\]\[1\]"),
        ({"hours": {"mon": [["09:00"]]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": "09:00-17:00"}}, r"hours\['mon'\]"),
        ({"holidays": ["2024-02-30"]}, r"holidays\[0\]"),
        ({"holidays": ["20240201"]}, r"holidays\[0\]"),
        ({"workdays": ["tomorrow"]}, r"workdays\[0\]"),
        ({"workdays": ["2024-06-10"]}, "workdays"),  # also a holiday
        ({"workday_hours": [["13:00", "12:00"]]}, r"workday_hours\[0\]"),
    ],
)
def test_validation_names_the_bad_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        validate_calendar(cn_calendar(**overrides))
    with pytest.raises(ValueError, match=field):
        business_seconds(cn_calendar(**overrides), sh(2024, 6, 1), sh(2024, 6, 2))


def test_valid_calendars() -> None:
    validate_calendar(CalendarSpec())
    validate_calendar(cn_calendar())
    validate_calendar(berlin_calendar())
    # Touching intervals are fine; given out of order too.
    validate_calendar(cn_calendar(hours={"mon": [["13:00", "24:00"], ["00:00", "13:00"]]}))
    # 24x7 ignores the other fields.
    validate_calendar(CalendarSpec(timezone="Asia/Shanghai", hours={"xyz": [["bad"]]}))


# --- properties --------------------------------------------------------------------------------

CALENDARS = [
    CalendarSpec(),
    cn_calendar(),
    berlin_calendar(),
    CalendarSpec(
        timezone="America/New_York",
        always_open=False,
        hours={"mon": [["00:00", "02:30"], ["22:00", "24:00"]], "sun": [["01:00", "03:00"]]},
        holidays=["2024-03-11"],
    ),
    CalendarSpec(timezone="Europe/Berlin", always_open=False, hours={"sun": [["00:00", "24:00"]]}),
]

calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
)
amounts = st.floats(min_value=0, max_value=60 * 24 * HOUR, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(calendars, instants, amounts)
def test_add_then_measure_round_trips(cal: CalendarSpec, start: datetime, seconds: float) -> None:
    end = add_business_time(cal, start, seconds)
    assert end >= start
    assert end.tzinfo is UTC
    assert business_seconds(cal, start, end) == pytest.approx(seconds, abs=1e-6)
    if seconds >= 1e-6:
        # Earliest: one microsecond before, not all of it has elapsed yet.
        assert business_seconds(cal, start, end - timedelta(microseconds=1)) < seconds


@settings(max_examples=100, deadline=None)
@given(calendars, instants, amounts, amounts)
def test_add_is_monotonic(cal: CalendarSpec, start: datetime, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert add_business_time(cal, start, low) <= add_business_time(cal, start, high)


@settings(max_examples=150, deadline=None)
@given(calendars, instants, instants, instants)
def test_business_seconds_is_additive_and_bounded(
    cal: CalendarSpec, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    ab, bc, ac = business_seconds(cal, a, b), business_seconds(cal, b, c), business_seconds(cal, a, c)
    assert ac == pytest.approx(ab + bc, abs=1e-6)
    assert 0 <= ab <= (b - a).total_seconds()
    assert business_seconds(cal, a, c) >= business_seconds(cal, a, b)  # monotonic in the end


@settings(max_examples=150, deadline=None)
@given(calendars, instants)
def test_is_open_agrees_with_business_seconds(cal: CalendarSpec, at: datetime) -> None:
    tick = timedelta(microseconds=1)
    assert is_open(cal, at) == (business_seconds(cal, at, at + tick) > 0)
    assert is_open(cal, at) == is_open(cal, at.astimezone(NEW_YORK))


class _SandboxLikeProxy:
    """Mimics Temporal's workflow-sandbox proxy: forwards attributes, including ``__class__``, and
    wraps call results, so the zone it hands out is not a tzinfo to datetime's C code."""

    def __init__(self, obj: object) -> None:
        object.__setattr__(self, "_obj", obj)

    def __getattribute__(self, name: str) -> object:
        return getattr(object.__getattribute__(self, "_obj"), name)

    def __call__(self, *args: object) -> _SandboxLikeProxy:
        return _SandboxLikeProxy(object.__getattribute__(self, "_obj")(*args))


def test_zone_wrapped_by_workflow_sandbox_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    import domain.business_calendar as module

    monkeypatch.setattr(module, "ZoneInfo", _SandboxLikeProxy(ZoneInfo))
    module._parse_frozen.cache_clear()
    try:
        cal = CalendarSpec(timezone="Asia/Kolkata", always_open=False, hours={"mon": [["09:00", "17:00"]]})
        assert add_business_time(cal, utc(2024, 6, 10, 3, 0), HOUR) == utc(2024, 6, 10, 4, 30)
    finally:
        module._parse_frozen.cache_clear()
