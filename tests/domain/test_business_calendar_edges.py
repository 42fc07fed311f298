"""Business-calendar boundaries: exactly at opening and closing, midnight, make-up days, empty calendars.

Worked examples with explicit instants (tests/domain/test_business_calendar.py holds the everyday
cases and the properties). Each is something a service desk relies on: when an SLA falls due, when
the clock runs, and which calendars the policy file may hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from domain.business_calendar import (
    CalendarSpec,
    add_business_time,
    business_seconds,
    is_business_day,
    is_open,
    validate_calendar,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600
WEEK = ("mon", "tue", "wed", "thu", "fri")


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> None:
        return None


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def office(**overrides: object) -> CalendarSpec:
    """Shanghai (no DST) 09:00-18:00 Monday to Friday."""
    spec = CalendarSpec(timezone="Asia/Shanghai", always_open=False,
                        hours={day: [["09:00", "18:00"]] for day in WEEK})
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


# --- exactly at the edges ------------------------------------------------------------------------


def test_a_ticket_opened_exactly_at_opening_uses_the_whole_day() -> None:
    cal = office()
    assert is_open(cal, sh(2024, 6, 12, 9, 0))
    assert not is_open(cal, sh(2024, 6, 12, 8, 59, 59, 999_999))
    assert add_business_time(cal, sh(2024, 6, 12, 9, 0), 9 * HOUR) == sh(2024, 6, 12, 18, 0)
    assert add_business_time(cal, sh(2024, 6, 12, 9, 0), 9 * HOUR + 1) == sh(2024, 6, 13, 9, 0, 1)
    assert business_seconds(cal, sh(2024, 6, 12, 9, 0), sh(2024, 6, 12, 18, 0)) == 9 * HOUR


def test_a_ticket_opened_exactly_at_closing_starts_its_clock_next_morning() -> None:
    cal = office()
    closing = sh(2024, 6, 12, 18, 0)
    assert not is_open(cal, closing)
    assert is_open(cal, closing - timedelta(microseconds=1))
    assert add_business_time(cal, closing, 1) == sh(2024, 6, 13, 9, 0, 1)
    assert add_business_time(cal, closing, 30 * 60) == sh(2024, 6, 13, 9, 30)
    # Friday closing: the next open second is Monday's.
    assert add_business_time(cal, sh(2024, 6, 14, 18, 0), 1) == sh(2024, 6, 17, 9, 0, 1)
    assert business_seconds(cal, closing, sh(2024, 6, 13, 9, 0)) == 0.0


def test_an_sla_that_uses_a_whole_day_to_the_microsecond_falls_due_at_closing() -> None:
    cal = office()
    start = sh(2024, 6, 12, 17, 0)
    assert add_business_time(cal, start, HOUR) == sh(2024, 6, 12, 18, 0)
    assert add_business_time(cal, start, HOUR + 0.000001) == sh(2024, 6, 13, 9, 0, 0, 1)
    # Two whole days from an opening: the second day's closing, not the third morning.
    assert add_business_time(cal, sh(2024, 6, 12, 9, 0), 18 * HOUR) == sh(2024, 6, 13, 18, 0)


def test_touching_intervals_run_on_without_a_gap() -> None:
    cal = office(hours={"mon": [["09:00", "12:00"], ["12:00", "18:00"]]})
    assert is_open(cal, sh(2024, 6, 10, 12, 0))
    assert add_business_time(cal, sh(2024, 6, 10, 11, 0), 2 * HOUR) == sh(2024, 6, 10, 13, 0)
    assert add_business_time(cal, sh(2024, 6, 10, 9, 0), 3 * HOUR) == sh(2024, 6, 10, 12, 0)


def test_open_across_midnight_counts_both_days() -> None:
    # Evening shift to midnight, then the next day from midnight: one continuous open stretch.
    cal = CalendarSpec(timezone="Asia/Shanghai", always_open=False,
                       hours={"mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"]]})
    assert is_open(cal, sh(2024, 6, 10, 23, 59, 59))
    assert is_open(cal, sh(2024, 6, 11, 0, 0))
    assert not is_open(cal, sh(2024, 6, 11, 2, 0))
    assert add_business_time(cal, sh(2024, 6, 10, 23, 0), 2 * HOUR) == sh(2024, 6, 11, 1, 0)
    assert business_seconds(cal, sh(2024, 6, 10, 22, 0), sh(2024, 6, 11, 1, 0)) == 3 * HOUR
    # A start at 01:00 Tuesday in UTC terms is 17:00 Monday in Shanghai: still before the shift.
    assert add_business_time(cal, utc(2024, 6, 10, 9, 0), HOUR) == sh(2024, 6, 10, 21, 0)


def test_a_midnight_end_is_open_until_the_last_microsecond() -> None:
    cal = CalendarSpec(timezone="Asia/Shanghai", always_open=False, hours={"sun": [["22:00", "24:00"]]})
    assert is_open(cal, sh(2024, 6, 16, 23, 59, 59, 999_999))
    assert not is_open(cal, sh(2024, 6, 17, 0, 0))  # Monday 00:00: closed
    assert business_seconds(cal, sh(2024, 6, 16), sh(2024, 6, 17, 12, 0)) == 2 * HOUR


def test_business_seconds_from_inside_an_interval_to_after_it() -> None:
    cal = office()
    assert business_seconds(cal, sh(2024, 6, 12, 17, 0), sh(2024, 6, 13, 10, 0)) == 2 * HOUR
    assert business_seconds(cal, sh(2024, 6, 12, 17, 0), sh(2024, 6, 12, 17, 0, 0, 1)) == 0.000001
    assert business_seconds(cal, sh(2024, 6, 12, 8, 0), sh(2024, 6, 12, 9, 0)) == 0.0


# --- make-up workdays and holidays ---------------------------------------------------------------


def test_a_makeup_sunday_uses_monday_hours_and_its_ticket_runs_on_to_monday() -> None:
    cal = office(hours={"mon": [["08:00", "12:00"]], **{d: [["09:00", "18:00"]] for d in WEEK[1:]}},
                 workdays=["2024-09-29"])
    assert is_open(cal, sh(2024, 9, 29, 8, 0))  # Sunday, make-up day: Monday's hours
    assert not is_open(cal, sh(2024, 9, 29, 12, 0))
    assert add_business_time(cal, sh(2024, 9, 29, 11, 0), 2 * HOUR) == sh(2024, 9, 30, 9, 0)
    assert is_business_day(cal, date(2024, 9, 29))
    assert not is_business_day(cal, date(2024, 10, 6))  # an ordinary Sunday


def test_a_holiday_wins_over_its_weekday_hours_and_is_not_a_business_day() -> None:
    cal = office(holidays=["2024-06-10"])
    assert not is_business_day(cal, date(2024, 6, 10))
    assert is_business_day(cal, date(2024, 6, 11))
    assert not is_business_day(cal, date(2024, 6, 15))  # Saturday without hours
    assert add_business_time(cal, sh(2024, 6, 7, 18, 0), HOUR) == sh(2024, 6, 11, 10, 0)


def test_business_days_of_a_24x7_desk_are_monday_to_friday_with_holidays_and_makeup_days() -> None:
    cal = CalendarSpec(holidays=["2024-10-01"], workdays=["2024-10-12"])
    assert is_business_day(cal, date(2024, 10, 11))  # Friday
    assert not is_business_day(cal, date(2024, 10, 1))  # holiday Tuesday
    assert is_business_day(cal, date(2024, 10, 12))  # make-up Saturday
    assert not is_business_day(cal, date(2024, 10, 13))  # Sunday
    assert not is_business_day(cal, date(2024, 10, 19))  # Saturday


def test_a_calendar_open_only_on_makeup_days_finds_a_day_two_years_later() -> None:
    # No weekly hours: the only open day is a make-up day about two years away (inside the
    # three-year search), so the SLA falls due then instead of being refused.
    cal = CalendarSpec(timezone="UTC", always_open=False, workdays=["2026-06-01"],
                       workday_hours=[["09:00", "10:00"]])
    assert add_business_time(cal, utc(2024, 6, 1), HOUR) == utc(2026, 6, 1, 10, 0)
    assert add_business_time(cal, utc(2024, 6, 1), 1) == utc(2026, 6, 1, 9, 0, 1)


# --- which calendars the policy may hold ---------------------------------------------------------


def test_every_minute_of_the_day_is_a_valid_time() -> None:
    validate_calendar(office(hours={"mon": [["00:00", "09:59"], ["10:00", "23:59"]]}))
    validate_calendar(office(hours={"mon": [["23:59", "24:00"]]}))
    cal = office(hours={"mon": [["09:59", "10:00"]]})
    assert business_seconds(cal, sh(2024, 6, 10), sh(2024, 6, 11)) == 60.0


@pytest.mark.parametrize("text", ["25:00", "24:01", "09:60", "99:99", "9:00", "09:00:00", "0900", ""])
def test_times_outside_00_00_to_24_00_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValueError, match=r"hours\['tue'\]\[0\]"):
        validate_calendar(office(hours={"tue": [["08:00", text]]}))
    with pytest.raises(ValueError, match=r"hours\['tue'\]\[0\]"):
        validate_calendar(office(hours={"tue": [[text, "24:00"]]}))


def test_makeup_days_alone_need_their_own_hours() -> None:
    # Workdays listed but no weekly hours and no workday_hours: they would inherit Monday's (none).
    with pytest.raises(ValueError, match="no open time"):
        validate_calendar(CalendarSpec(timezone="UTC", always_open=False, workdays=["2024-10-12"]))
    # Hours for make-up days but no make-up day: still never open.
    with pytest.raises(ValueError, match="no open time"):
        validate_calendar(CalendarSpec(timezone="UTC", always_open=False,
                                       workday_hours=[["09:00", "10:00"]]))
    # Only weekend hours are enough.
    validate_calendar(CalendarSpec(timezone="UTC", always_open=False, hours={"sun": [["09:00", "10:00"]]}))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"holidays": "2024-10-01"}, "holidays"),  # a bare string, not a list
        ({"workdays": "2024-10-12"}, "workdays"),
        ({"holidays": 20241001}, "holidays"),
        ({"holidays": [20241001]}, r"holidays\[0\]"),
        ({"workdays": ["2024-10-12", None]}, r"workdays\[1\]"),
        ({"hours": {"mon": [["09:00", "12:00", "18:00"]]}}, r"hours\['mon'\]\[0\]"),  # three parts
        ({"hours": {"mon": [["09:00", 18]]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": ["09:00"]}}, r"hours\['mon'\]\[0\]"),
        ({"hours": {"mon": None}}, r"hours\['mon'\]"),
        ({"hours": [["09:00", "18:00"]]}, "hours"),
        ({"workday_hours": "09:00-18:00"}, "^workday_hours:"),
        ({"timezone": 8}, "timezone"),
    ],
)
def test_malformed_policy_values_are_refused_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        validate_calendar(office(**overrides))
    with pytest.raises(ValueError, match=field):
        is_open(office(**overrides), sh(2024, 6, 12, 10, 0))


def test_errors_name_the_argument_that_is_naive() -> None:
    cal = office()
    with pytest.raises(ValueError, match="^start must be a timezone-aware datetime"):
        add_business_time(cal, datetime(2024, 6, 12, 10, 0), 60)
    with pytest.raises(ValueError, match="^at must be a timezone-aware datetime"):
        is_open(cal, datetime(2024, 6, 12, 10, 0))
    with pytest.raises(ValueError, match="^end must be a timezone-aware datetime"):
        business_seconds(cal, sh(2024, 6, 12, 10, 0), datetime(2024, 6, 12, 11, 0))
    with pytest.raises(ValueError, match="^start must be a timezone-aware datetime"):
        business_seconds(cal, datetime(2024, 6, 12, 10, 0), sh(2024, 6, 12, 11, 0))
    # A time zone object that knows no offset is as unusable as none at all.
    no_offset = datetime(2024, 6, 12, 10, 0, tzinfo=_NoOffset())
    with pytest.raises(ValueError, match="^at must be a timezone-aware datetime"):
        is_open(cal, no_offset)


def test_one_microsecond_of_business_time_is_not_rounded_away() -> None:
    cal = office()
    assert add_business_time(cal, sh(2024, 6, 12, 10, 0), 0.000001) == sh(2024, 6, 12, 10, 0, 0, 1)
    assert add_business_time(cal, sh(2024, 6, 12, 18, 0), 0.000001) == sh(2024, 6, 13, 9, 0, 0, 1)


# The search for open time gives up after this many consecutive days without open time after the
# start (counting the start's own day): a calendar that never opens is refused, not searched for ever.
IDLE = 3 * 366


def test_the_search_gives_up_after_three_times_366_closed_days_and_not_before() -> None:
    start = utc(2024, 1, 1, 12, 0)

    def only_on(day: date) -> CalendarSpec:
        return CalendarSpec(timezone="UTC", always_open=False, workdays=[day.isoformat()],
                            workday_hours=[["09:00", "10:00"]])
    last = start.date() + timedelta(days=IDLE - 1)  # IDLE - 1 closed days before it
    assert add_business_time(only_on(last), start, HOUR) == utc(last.year, last.month, last.day, 10, 0)
    too_late = start.date() + timedelta(days=IDLE)  # IDLE closed days before it
    with pytest.raises(ValueError, match="no open time"):
        add_business_time(only_on(too_late), start, HOUR)


def test_a_start_exactly_at_closing_counts_that_day_as_closed() -> None:
    # Opened at 10:00 on a make-up day open 09:00-10:00: nothing of that day is left, so the day
    # counts towards the give-up limit like any closed day.
    start = utc(2024, 1, 1, 10, 0)
    too_late = start.date() + timedelta(days=IDLE)
    cal = CalendarSpec(timezone="UTC", always_open=False, workdays=["2024-01-01", too_late.isoformat()],
                       workday_hours=[["09:00", "10:00"]])
    with pytest.raises(ValueError, match="no open time"):
        add_business_time(cal, start, HOUR)


def test_business_days_follow_the_weekly_hours_when_the_desk_keeps_hours() -> None:
    six_days = office(hours={d: [["09:00", "18:00"]] for d in (*WEEK[:2], *WEEK[3:], "sat")})
    assert is_business_day(six_days, date(2024, 6, 15))  # Saturday with hours
    assert not is_business_day(six_days, date(2024, 6, 12))  # Wednesday without hours
    # A 24x7 desk's business days stay Monday to Friday even if hours are left in its policy.
    desk = CalendarSpec(always_open=True, hours={"sat": [["09:00", "18:00"]]})
    assert not is_business_day(desk, date(2024, 6, 15))
    assert is_business_day(desk, date(2024, 6, 12))
    # So do those of a calendar open only on make-up days.
    sparse = CalendarSpec(timezone="UTC", always_open=False, workdays=["2024-06-15"],
                          workday_hours=[["09:00", "10:00"]])
    assert is_business_day(sparse, date(2024, 6, 12))
    assert is_business_day(sparse, date(2024, 6, 15))
    assert not is_business_day(sparse, date(2024, 6, 16))


def test_a_wall_time_repeated_by_fall_back_means_its_first_occurrence() -> None:
    # Berlin, Sunday 27 Oct 2024: 03:00 CEST falls back to 02:00 CET, so 02:00-03:00 happens twice.
    # An interval from 02:30 starts at the first 02:30 (00:30 UTC) and runs to 03:30 CET (02:30 UTC).
    cal = CalendarSpec(timezone="Europe/Berlin", always_open=False, hours={"sun": [["02:30", "03:30"]]})
    assert business_seconds(cal, utc(2024, 10, 26), utc(2024, 10, 28)) == 2 * HOUR
    assert is_open(cal, utc(2024, 10, 27, 0, 30))
    assert not is_open(cal, utc(2024, 10, 27, 0, 29, 59))
    assert add_business_time(cal, utc(2024, 10, 26, 12, 0), 90 * 60) == utc(2024, 10, 27, 2, 0)


def test_any_opening_inside_the_spring_forward_gap_opens_at_the_transition() -> None:
    # Berlin, Sunday 31 Mar 2024: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:xx never happens.
    for minute in range(60):
        cal = CalendarSpec(timezone="Europe/Berlin", always_open=False,
                           hours={"sun": [[f"02:{minute:02d}", "04:00"]]})
        assert business_seconds(cal, utc(2024, 3, 30), utc(2024, 4, 1)) == HOUR, minute
        assert add_business_time(cal, utc(2024, 3, 30), 1) == utc(2024, 3, 31, 1, 0, 1), minute
