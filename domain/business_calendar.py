"""Business-calendar arithmetic for SLA clocks: open hours, breaks, holidays and make-up workdays.

Pure and deterministic (standard library only, no clock reads) because Temporal workflow code imports
it. Open intervals are local wall-clock times in the policy's own IANA time zone, so a 09:00-18:00
day is 9 real hours whatever the DST offset, and a 00:00-24:00 day is 23 or 25 hours on DST days.

Internally every instant is an integer count of microseconds since the Unix epoch (the resolution of
:class:`datetime.datetime`), so sums are exact and ``business_seconds`` is additive.

DST edge cases, by design:
    * A wall time inside a spring-forward gap (e.g. 02:30 in Berlin on the last Sunday of March)
      means the first instant the clock shows a later time, i.e. the transition itself.
    * A wall time repeated by a fall-back means its first occurrence (``fold=0``); an interval that
      spans the whole repeated hour counts both occurrences, as real elapsed time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WEEKDAYS",
    "CalendarSpec",
    "add_business_time",
    "business_seconds",
    "ceil_microseconds",
    "is_business_day",
    "is_open",
    "validate_calendar",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A calendar with no open time in this many consecutive days is treated as never open, so
# add_business_time fails fast instead of looping forever.
_MAX_IDLE_DAYS = 3 * 366

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_US_PER_S = 1_000_000
_HHMM = re.compile(r"(\d{2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# (start, end) seconds after local midnight; end exclusive, at most 86400 ("24:00").
_Interval = tuple[int, int]
_DayHours = tuple[_Interval, ...]
# (start_us, end_us) absolute instants.
_Span = tuple[int, int]


@dataclass
class CalendarSpec:
    """When SLA time runs.

    Attributes:
        timezone: The policy's own IANA time zone; open hours are wall-clock times in it.
        always_open: 24x7; when True the other fields are ignored.
        hours: Weekday key ``"mon"``..``"sun"`` -> list of ``["HH:MM", "HH:MM"]`` open intervals
            (end exclusive, ``"24:00"`` allowed). Breaks such as lunch are the gaps between them.
        holidays: ISO dates (local) closed all day, even if they fall on a weekday.
        workdays: ISO dates (local) open with ``workday_hours``, e.g. China's make-up weekends.
        workday_hours: Open intervals for ``workdays``; empty means the ``"mon"`` hours.
    """

    timezone: str = "UTC"
    always_open: bool = True
    hours: dict[str, list[list[str]]] = field(default_factory=dict)
    holidays: list[str] = field(default_factory=list)
    workdays: list[str] = field(default_factory=list)
    workday_hours: list[list[str]] = field(default_factory=list)


class _Calendar:
    """A validated, parsed :class:`CalendarSpec` with a memo of each local day's open spans."""

    __slots__ = ("always_open", "holidays", "memo", "tz", "week", "workday_hours", "workdays")

    def __init__(
        self,
        tz: ZoneInfo,
        always_open: bool,
        week: tuple[_DayHours, ...],
        holidays: frozenset[date],
        workdays: frozenset[date],
        workday_hours: _DayHours,
    ) -> None:
        self.tz = tz
        self.always_open = always_open
        self.week = week
        self.holidays = holidays
        self.workdays = workdays
        self.workday_hours = workday_hours
        self.memo: dict[date, tuple[_Span, ...]] = {}

    def day_hours(self, day: date) -> _DayHours:
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.workday_hours
        return self.week[day.weekday()]

    def spans(self, day: date) -> tuple[_Span, ...]:
        """Open spans of one local day as absolute instants, in order and non-overlapping."""
        cached = self.memo.get(day)
        if cached is not None:
            return cached
        spans: list[_Span] = []
        for start_s, end_s in self.day_hours(day):
            start = _wall_to_us(self.tz, day, start_s)
            end = _wall_to_us(self.tz, day, end_s)
            if end > start:  # a span swallowed by a DST gap (or a skipped day) is dropped
                spans.append((start, end))
        result = tuple(spans)
        if len(self.memo) > 20_000:  # bounded: a long-lived worker sees many distinct days
            self.memo.clear()
        self.memo[day] = result
        return result

    def local_date(self, us: int) -> date:
        return _from_us(us).astimezone(self.tz).date()


def validate_calendar(spec: CalendarSpec) -> None:
    """Checks a calendar spec.

    Args:
        spec: The calendar to check.

    Raises:
        ValueError: The message names the bad field: an unknown time zone, a weekday key other than
            ``"mon"``..``"sun"``, a malformed ``"HH:MM"``, a reversed or overlapping interval, a bad
            ISO date, a date both a holiday and a workday, or a calendar with no open time at all.
    """
    cal = _parse(spec)
    if not cal.always_open and not any(cal.week) and not (cal.workdays and cal.workday_hours):
        raise ValueError("hours: the calendar has no open time at all")


def business_seconds(spec: CalendarSpec, start: datetime, end: datetime) -> float:
    """Business seconds inside ``[start, end)``.

    Args:
        spec: The calendar.
        start: Tz-aware start instant, any zone.
        end: Tz-aware end instant, any zone.

    Returns:
        The open time between the two instants in seconds (microsecond resolution); 0.0 if
        ``end <= start``.

    Raises:
        ValueError: A naive datetime or an invalid calendar.
    """
    cal = _parse(spec)
    return _business_us(cal, _to_us(start, "start"), _to_us(end, "end")) / _US_PER_S


def add_business_time(spec: CalendarSpec, start: datetime, seconds: float) -> datetime:
    """The instant at which ``seconds`` of business time have passed since ``start``.

    Args:
        spec: The calendar.
        start: Tz-aware start instant, any zone.
        seconds: Business seconds to add, >= 0; rounded up to whole microseconds.

    Returns:
        The earliest tz-aware UTC instant ``t >= start`` with
        ``business_seconds(spec, start, t) == seconds``. It can be the very end of an open interval
        (Friday 18:00), not the next opening. ``seconds == 0`` gives ``start`` itself.

    Raises:
        ValueError: A naive datetime, negative or non-finite ``seconds``, an invalid calendar, or a
            calendar with no open time for about three years after ``start``.
    """
    cal = _parse(spec)
    cursor = _to_us(start, "start")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    remaining = ceil_microseconds(seconds)
    if remaining <= 0:
        return _from_us(cursor)
    if cal.always_open:
        return _from_us(cursor + remaining)
    day = cal.local_date(cursor) - timedelta(days=1)
    idle_days = 0
    while idle_days <= _MAX_IDLE_DAYS:
        useful = False
        for span_start, span_end in cal.spans(day):
            if span_end <= cursor:
                continue
            useful = True
            begin = max(span_start, cursor)
            if remaining <= span_end - begin:
                return _from_us(begin + remaining)
            remaining -= span_end - begin
            cursor = span_end
        idle_days = 0 if useful else idle_days + 1
        day += timedelta(days=1)
    raise ValueError(
        f"calendar has no open time within {_MAX_IDLE_DAYS} days after {_from_us(cursor).isoformat()}"
    )


def is_open(spec: CalendarSpec, at: datetime) -> bool:
    """Whether business time runs at an instant.

    Args:
        spec: The calendar.
        at: Tz-aware instant, any zone.

    Returns:
        True if ``at`` lies inside an open interval (start inclusive, end exclusive).

    Raises:
        ValueError: A naive datetime or an invalid calendar.
    """
    cal = _parse(spec)
    us = _to_us(at, "at")
    if cal.always_open:
        return True
    day = cal.local_date(us)
    # A span of day D ends by local midnight after D, so only D-1 (a "24:00" end) and D can hold it.
    for d in (day - timedelta(days=1), day):
        if any(s <= us < e for s, e in cal.spans(d)):
            return True
    return False


def is_business_day(spec: CalendarSpec, day: date) -> bool:
    """A business day: not a holiday, and a make-up workday or a weekday with open hours.

    The same precedence as business time (holiday, then make-up day, then the week). A 24x7
    calendar (or one without hours) counts Monday to Friday: appeal windows are office days even
    when the service desk never closes.
    """
    iso = day.isoformat()
    if iso in spec.holidays:
        return False
    if iso in spec.workdays:
        return True
    if spec.always_open or not spec.hours:
        return day.weekday() < 5
    return bool(spec.hours.get(WEEKDAYS[day.weekday()]))


def ceil_microseconds(seconds: float) -> int:
    """Seconds rounded up to whole microseconds, the resolution of all calendar arithmetic.

    :func:`add_business_time` rounds with this, so callers that compare elapsed time against a
    threshold (the SLA clock) round the threshold the same way and agree with it to the microsecond.

    Args:
        seconds: A duration in seconds.

    Returns:
        Whole microseconds, rounded up; a value a float hair above a whole microsecond (e.g.
        ``0.1 * 3``) is not pushed to the next one.
    """
    return math.ceil(seconds * _US_PER_S - 1e-3)


def _business_us(cal: _Calendar, start: int, end: int) -> int:
    if end <= start:
        return 0
    if cal.always_open:
        return end - start
    total = 0
    day = cal.local_date(start) - timedelta(days=1)
    last = cal.local_date(end)
    while day <= last:
        for span_start, span_end in cal.spans(day):
            overlap = min(span_end, end) - max(span_start, start)
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return total


def _to_us(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    return (moment - _EPOCH) // _ONE_US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _wall_to_us(tz: ZoneInfo, day: date, seconds: int) -> int:
    """Maps a local wall-clock time (seconds after midnight of ``day``) to an absolute instant."""
    naive = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    aware = naive.replace(tzinfo=tz)  # fold=0: the first occurrence of a repeated time
    us = _to_us(aware, "wall time")
    if _from_us(us).astimezone(tz).replace(tzinfo=None) == naive:
        return us
    # The wall time does not exist (spring-forward gap). It lies between the two readings below;
    # binary-search the transition, which tz databases put on whole seconds.
    lo = _to_us(naive.replace(tzinfo=tz, fold=1), "wall time") // _US_PER_S
    hi = -(-us // _US_PER_S)
    lo, hi = min(lo, hi), max(lo, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        if _from_us(mid * _US_PER_S).astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return lo * _US_PER_S


def _parse(spec: CalendarSpec) -> _Calendar:
    # The spec is a mutable dataclass, so the cache is keyed on its content, never its identity.
    return _parse_frozen(_freeze(spec))


_Frozen = tuple[
    str,
    bool,
    tuple[tuple[str, tuple[tuple[str, ...], ...]], ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[tuple[str, ...], ...],
]


def _freeze(spec: CalendarSpec) -> _Frozen:
    if not isinstance(spec.timezone, str):
        raise ValueError(f"timezone: must be a string, got {spec.timezone!r}")
    if spec.always_open:
        return (spec.timezone, True, (), (), (), ())
    if not isinstance(spec.hours, dict):
        raise ValueError(f"hours: must be a mapping of weekday -> intervals, got {spec.hours!r}")
    hours = tuple(
        (str(key), _freeze_intervals(f"hours[{key!r}]", value)) for key, value in spec.hours.items()
    )
    return (
        spec.timezone,
        False,
        hours,
        _freeze_strings("holidays", spec.holidays),
        _freeze_strings("workdays", spec.workdays),
        _freeze_intervals("workday_hours", spec.workday_hours),
    )


def _freeze_intervals(name: str, value: object) -> tuple[tuple[str, ...], ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f'{name}: must be a list of ["HH:MM", "HH:MM"] intervals, got {value!r}')
    out: list[tuple[str, ...]] = []
    for i, interval in enumerate(value):
        if (
            isinstance(interval, str)
            or not isinstance(interval, Sequence)
            or len(interval) != 2
            or not all(isinstance(part, str) for part in interval)
        ):
            raise ValueError(f'{name}[{i}]: must be a pair ["HH:MM", "HH:MM"], got {interval!r}')
        out.append(tuple(interval))
    return tuple(out)


def _freeze_strings(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{name}: must be a list of ISO dates, got {value!r}")
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValueError(f"{name}[{i}]: must be an ISO date string, got {item!r}")
    return items


@lru_cache(maxsize=64)
def _parse_frozen(frozen: _Frozen) -> _Calendar:
    tz_name, always_open, hours, holidays, workdays, workday_hours = frozen
    try:
        tz = _load_zone(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"timezone: unknown IANA time zone {tz_name!r}") from exc
    if always_open:
        return _Calendar(tz, True, ((),) * 7, frozenset(), frozenset(), ())
    by_day: dict[str, _DayHours] = {}
    for key, intervals in hours:
        if key not in WEEKDAYS:
            raise ValueError(f"hours: unknown weekday key {key!r}; use one of {', '.join(WEEKDAYS)}")
        by_day[key] = _parse_intervals(f"hours[{key!r}]", intervals)
    week = tuple(by_day.get(key, ()) for key in WEEKDAYS)
    closed = _parse_dates("holidays", holidays)
    extra = _parse_dates("workdays", workdays)
    both = closed & extra
    if both:
        listed = ", ".join(sorted(d.isoformat() for d in both))
        raise ValueError(f"workdays: {listed} also listed in holidays")
    extra_hours = _parse_intervals("workday_hours", workday_hours) if workday_hours else week[0]
    return _Calendar(tz, False, week, closed, extra, extra_hours)


def _load_zone(name: str) -> ZoneInfo:
    zone = ZoneInfo(name)
    # Temporal's workflow sandbox wraps ZoneInfo instances in a proxy that datetime's C code rejects
    # as a tzinfo. The proxy forwards __class__, and calling the real class (its permitted
    # constructor) returns the real, cached zone. Outside a sandbox this is the same object.
    real_class = zone.__class__
    if type(zone) is not real_class:
        zone = real_class(name)
    return zone


def _parse_intervals(name: str, intervals: tuple[tuple[str, ...], ...]) -> _DayHours:
    parsed: list[tuple[int, int, int]] = []
    for i, (start_text, end_text) in enumerate(intervals):
        start = _parse_hhmm(f"{name}[{i}]", start_text)
        end = _parse_hhmm(f"{name}[{i}]", end_text)
        if start >= end:
            raise ValueError(f"{name}[{i}]: interval {start_text}-{end_text} is empty or reversed")
        parsed.append((start, end, i))
    parsed.sort()
    for (_, prev_end, prev_i), (start, _, i) in zip(parsed, parsed[1:], strict=False):
        if start < prev_end:
            raise ValueError(f"{name}[{i}]: overlaps {name}[{prev_i}]")
    return tuple((start, end) for start, end, _ in parsed)


def _parse_hhmm(name: str, text: str) -> int:
    match = _HHMM.fullmatch(text)
    if match is None:
        raise ValueError(f"{name}: {text!r} is not HH:MM")
    hh, mm = int(match[1]), int(match[2])
    if mm > 59 or hh > 24 or (hh == 24 and mm != 0):
        raise ValueError(f"{name}: {text!r} is not a time between 00:00 and 24:00")
    return hh * 3600 + mm * 60


def _parse_dates(name: str, values: tuple[str, ...]) -> frozenset[date]:
    out: set[date] = set()
    for i, text in enumerate(values):
        try:
            if _ISO_DATE.fullmatch(text) is None:
                raise ValueError("not YYYY-MM-DD")
            out.add(date.fromisoformat(text))
        except ValueError as exc:
            raise ValueError(f"{name}[{i}]: {text!r} is not an ISO date (YYYY-MM-DD)") from exc
    return frozenset(out)
