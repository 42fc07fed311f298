"""SLA clocks: business time used against a target, with pauses, stops, reopenings and retargets.

Pure and deterministic, for use inside Temporal workflows: every method takes ``now`` (the workflow's
``workflow.now()``) instead of reading a clock. The state is a plain dataclass so Temporal's default
converter can carry it in workflow state and continue-as-new inputs.

A clock is in one of three states: running (``running_since`` set), paused (``paused_since`` set) or
stopped (``stopped_at`` set). Business time accrues only while running; wall time spent paused is
kept for reporting; time between a stop and a restart counts as neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal, get_args

from domain.business_calendar import CalendarSpec, add_business_time, business_seconds, ceil_microseconds

__all__ = ["BREACH", "CLOCK_NAMES", "FIRST_RESPONSE", "RESOLUTION", "ClockName", "SlaClock", "warning_key"]

BREACH = "breach"

# A ticket's two clocks (rule 1): the names key policy targets, compensation amounts and breaches.
ClockName = Literal["first_response", "resolution"]
FIRST_RESPONSE: Final[ClockName] = "first_response"
RESOLUTION: Final[ClockName] = "resolution"
CLOCK_NAMES: Final[tuple[ClockName, ...]] = get_args(ClockName)


def warning_key(level: int) -> str:
    """The event key of a warning at ``level`` percent of the target, e.g. ``"warning:75"``."""
    return f"warning:{level}"


@dataclass
class SlaClock:
    """One SLA clock of a ticket (first response or resolution).

    Attributes:
        name: ``"first_response"`` or ``"resolution"``.
        target_seconds: Business seconds allowed.
        started_at: When the clock first started.
        elapsed_seconds: Business seconds accumulated before ``running_since``.
        running_since: Set while the clock runs.
        paused_seconds: Wall seconds spent paused, for reporting.
        paused_since: Set while the clock is paused.
        stopped_at: Set once the clock is stopped (met or finished).
        fired: Event keys already fired: ``"warning:75"``, ``"warning:90"``, ``"breach"``.
    """

    name: str
    target_seconds: float
    started_at: datetime
    elapsed_seconds: float = 0.0
    running_since: datetime | None = None
    paused_seconds: float = 0.0
    paused_since: datetime | None = None
    stopped_at: datetime | None = None
    fired: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, name: str, target_seconds: float, now: datetime) -> SlaClock:
        """A clock running from ``now``.

        Args:
            name: ``"first_response"`` or ``"resolution"``.
            target_seconds: Business seconds allowed (>= 0).
            now: Tz-aware current instant.

        Returns:
            The running clock.

        Raises:
            ValueError: A naive ``now`` or a negative target.
        """
        _require_aware(now)
        _require_target(target_seconds)
        return cls(name=name, target_seconds=target_seconds, started_at=now, running_since=now)

    @property
    def running(self) -> bool:
        """Whether business time is accruing."""
        return self.running_since is not None

    @property
    def paused(self) -> bool:
        """Whether the clock is on hold (e.g. waiting on the customer)."""
        return self.paused_since is not None

    @property
    def stopped(self) -> bool:
        """Whether the clock has stopped (met or finished)."""
        return self.stopped_at is not None

    def pause(self, cal: CalendarSpec, now: datetime) -> None:
        """Puts a running clock on hold; a no-op if it is paused or stopped.

        Args:
            cal: The business calendar.
            now: Tz-aware current instant.
        """
        _require_aware(now)
        if self.running_since is None:
            return
        self.elapsed_seconds += business_seconds(cal, self.running_since, now)
        self.running_since = None
        self.paused_since = now

    def resume(self, cal: CalendarSpec, now: datetime) -> None:
        """Runs a paused clock again from ``now``; a no-op unless paused.

        Args:
            cal: The business calendar (unused: the hold is wall time; kept for symmetry).
            now: Tz-aware current instant.
        """
        _require_aware(now)
        if self.paused_since is None:
            return
        self.paused_seconds += _wall_seconds(self.paused_since, now)
        self.paused_since = None
        self.running_since = now

    def stop(self, cal: CalendarSpec, now: datetime) -> None:
        """Stops the clock; a no-op if already stopped.

        From running, the business time since ``running_since`` is added to elapsed. From paused,
        the hold up to ``now`` counts as paused time, not elapsed.

        Args:
            cal: The business calendar.
            now: Tz-aware current instant.
        """
        _require_aware(now)
        if self.stopped_at is not None:
            return
        if self.running_since is not None:
            self.elapsed_seconds += business_seconds(cal, self.running_since, now)
            self.running_since = None
        elif self.paused_since is not None:
            self.paused_seconds += _wall_seconds(self.paused_since, now)
            self.paused_since = None
        self.stopped_at = now

    def restart(self, now: datetime) -> None:
        """Runs a stopped clock again from ``now`` (e.g. a reopened ticket); a no-op unless stopped.

        Elapsed time is kept; the time between the stop and ``now`` counts as neither elapsed nor
        paused.

        Args:
            now: Tz-aware current instant.
        """
        _require_aware(now)
        if self.stopped_at is None:
            return
        self.stopped_at = None
        self.running_since = now

    def retarget(self, target_seconds: float) -> None:
        """Changes the target (priority or policy change), keeping elapsed, paused and fired.

        A longer target moves an unfired breach later; a shorter one already exceeded makes the
        breach due at once.

        Args:
            target_seconds: The new business seconds allowed (>= 0).
        """
        _require_target(target_seconds)
        self.target_seconds = target_seconds

    def elapsed(self, cal: CalendarSpec, now: datetime) -> float:
        """Business seconds used so far.

        Args:
            cal: The business calendar.
            now: Tz-aware current instant.

        Returns:
            Accumulated business seconds, including the current run if the clock is running.
        """
        _require_aware(now)
        if self.running_since is None:
            return self.elapsed_seconds
        return self.elapsed_seconds + business_seconds(cal, self.running_since, now)

    def remaining(self, cal: CalendarSpec, now: datetime) -> float:
        """Business seconds left before the breach; negative once breached.

        Args:
            cal: The business calendar.
            now: Tz-aware current instant.

        Returns:
            ``target_seconds - elapsed``.
        """
        return self.target_seconds - self.elapsed(cal, now)

    def paused_total(self, now: datetime) -> float:
        """Wall seconds spent paused so far, including a hold in progress.

        Args:
            now: Tz-aware current instant.

        Returns:
            Paused wall seconds.
        """
        _require_aware(now)
        if self.paused_since is None:
            return self.paused_seconds
        return self.paused_seconds + _wall_seconds(self.paused_since, now)

    def instant_at(self, cal: CalendarSpec, fraction: float) -> datetime | None:
        """When elapsed reaches ``fraction * target`` if the clock keeps running.

        Args:
            cal: The business calendar.
            fraction: Share of the target, e.g. 0.75 or 1.0.

        Returns:
            A tz-aware UTC instant; ``running_since`` if the threshold was already reached before
            the current run; None unless running.
        """
        return self._instant_for(cal, fraction * self.target_seconds)

    def deadline(self, cal: CalendarSpec) -> datetime | None:
        """The breach instant if the clock keeps running; None unless running.

        Args:
            cal: The business calendar.

        Returns:
            ``instant_at(cal, 1.0)``.
        """
        return self.instant_at(cal, 1.0)

    def due_events(self, cal: CalendarSpec, now: datetime, warning_levels: Sequence[int]) -> list[str]:
        """Unfired events whose threshold elapsed has reached by ``now``, in firing order.

        Compares elapsed business time against each threshold, so it works whether the clock is
        running, paused or stopped: an event whose threshold was passed before a pause stays due
        until marked fired. Does not mark anything fired.

        Args:
            cal: The business calendar.
            now: Tz-aware current instant.
            warning_levels: Warning thresholds as integer percents of the target, e.g. ``[75, 90]``.

        Returns:
            Event keys such as ``["warning:75", "warning:90", "breach"]``.

        Raises:
            ValueError: A warning level that is not a positive integer.
        """
        elapsed = self.elapsed(cal, now)
        return [
            key
            for key, threshold in self._events(warning_levels)
            if key not in self.fired and _reached(elapsed, threshold)
        ]

    def mark_fired(self, key: str) -> None:
        """Records that an event was fired, so it is never due again.

        Args:
            key: The event key, e.g. ``"warning:75"`` or ``"breach"``.
        """
        if key not in self.fired:
            self.fired.append(key)

    def next_event_at(self, cal: CalendarSpec, warning_levels: Sequence[int]) -> datetime | None:
        """The earliest instant at which an unfired event becomes due.

        Args:
            cal: The business calendar.
            warning_levels: Warning thresholds as integer percents of the target.

        Returns:
            A tz-aware UTC instant (possibly in the past if an event is already due), or None if
            every event has fired or the clock is not running.
        """
        if self.running_since is None:
            return None
        # Instants grow with thresholds, so the first unfired event in threshold order is earliest.
        for key, threshold in self._events(warning_levels):
            if key not in self.fired:
                return self._instant_for(cal, threshold)
        return None

    def outcome(self, cal: CalendarSpec, now: datetime) -> str:
        """The clock's verdict.

        Args:
            cal: The business calendar.
            now: Tz-aware current instant.

        Returns:
            ``"breached"`` once elapsed has reached the target (or a breach was fired), otherwise
            ``"met"`` if stopped, otherwise ``"pending"``.
        """
        if BREACH in self.fired or _reached(self.elapsed(cal, now), self.target_seconds):
            return "breached"
        return "met" if self.stopped_at is not None else "pending"

    def _events(self, warning_levels: Sequence[int]) -> list[tuple[str, float]]:
        """(key, threshold seconds) for each event, in firing order (a tie puts warnings first)."""
        levels = sorted(set(warning_levels))
        for level in levels:
            if isinstance(level, bool) or not isinstance(level, int) or level <= 0:
                raise ValueError(f"warning levels must be positive integer percents, got {level!r}")
        # target * level / 100 rather than target * (level / 100): exact for whole-second targets.
        events = [(warning_key(level), self.target_seconds * level / 100) for level in levels]
        events.append((BREACH, self.target_seconds))
        return sorted(events, key=lambda event: (event[1], event[0] == BREACH))

    def _instant_for(self, cal: CalendarSpec, threshold: float) -> datetime | None:
        if self.running_since is None:
            return None
        needed = threshold - self.elapsed_seconds
        if needed <= 0:
            return self.running_since.astimezone(UTC)
        return add_business_time(cal, self.running_since, needed)


def _reached(elapsed: float, threshold: float) -> bool:
    # Compared in whole microseconds, with the threshold rounded up exactly as add_business_time
    # rounds: at the instant instant_at() returns the event is due, one microsecond earlier it is
    # not. Elapsed is a sum of whole microseconds, so rounding it only removes float noise.
    return round(elapsed * 1_000_000) >= ceil_microseconds(threshold)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got naive {now.isoformat()}")


def _require_target(target_seconds: float) -> None:
    if not target_seconds >= 0:  # also rejects NaN
        raise ValueError(f"target_seconds must be >= 0, got {target_seconds!r}")


def _wall_seconds(since: datetime, now: datetime) -> float:
    # Never negative, even if a caller replays an older instant.
    return max(0.0, (now - since).total_seconds())
