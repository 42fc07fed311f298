"""Daily ticket volume, 30 days ahead, per category and channel (rule 7), and its backtest.

A Poisson regression (scikit-learn's ``PoissonRegressor``, log link: effects multiply) on calendar
features of each day: the weekday, whether the business calendar closes it (a public holiday) or
opens it though it falls on a weekend (a make-up workday, China's 调休), the first working days
after a long holiday (the backlog comes back), the days just before one, and a slow trend. The
calendar is the policy's own (``domain/policy.py:CalendarModel``), so "CN" brings the long
holidays. Decision 015 says why this and not a time-series library.

The backtest holds out the last ``horizon`` days, fits on the rest and compares the error with the
seasonal-naive forecast (each day = the same weekday a week before the cut): the MASE ratio below
1 means the model beats it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["Backtest", "DayCalendar", "Forecast", "backtest", "forecast", "planted_volumes"]

SeriesKey = tuple[str, str]  # (category, channel)


@dataclass(frozen=True)
class DayCalendar:
    """Which dates the business calendar closes (holidays) and opens on a weekend (make-up days)."""

    holidays: frozenset[date]
    workdays: frozenset[date]

    def closed(self, day: date) -> bool:
        return day in self.holidays or (day.weekday() >= 5 and day not in self.workdays)

    def features(self, day: date, origin: date) -> list[float]:
        """The regression's inputs for ``day`` (``origin``: the first day of the history)."""
        weekday = [1.0 if day.weekday() == k else 0.0 for k in range(7)]
        holiday = 1.0 if day in self.holidays else 0.0
        makeup = 1.0 if day in self.workdays else 0.0
        closed_run = self._closed_run_before(day)
        after_long = 1.0 if not self.closed(day) and closed_run >= 3 else 0.0
        second_after = 1.0 if not self.closed(day) and self._after_long(day - timedelta(days=1)) else 0.0
        before_long = 1.0 if not self.closed(day) and self._closed_run_after(day) >= 3 else 0.0
        trend = (day - origin).days / 365.0
        return weekday + [holiday, makeup, after_long, second_after, before_long, trend]

    def _after_long(self, day: date) -> bool:
        return not self.closed(day) and self._closed_run_before(day) >= 3

    def _closed_run_before(self, day: date) -> int:
        run, d = 0, day - timedelta(days=1)
        while self.closed(d) and run < 15:
            run, d = run + 1, d - timedelta(days=1)
        return run

    def _closed_run_after(self, day: date) -> int:
        run, d = 0, day + timedelta(days=1)
        while self.closed(d) and run < 15:
            run, d = run + 1, d + timedelta(days=1)
        return run


@dataclass(frozen=True)
class Forecast:
    """Expected tickets per day for one series."""

    key: SeriesKey
    days: list[date]
    volume: list[float]


@dataclass(frozen=True)
class Backtest:
    """Errors over the held-out days: the model's and the seasonal-naive baseline's (MAE and MASE)."""

    horizon: int
    mae: float
    naive_mae: float
    mase: float
    naive_mase: float

    @property
    def mase_ratio(self) -> float:
        """The model's MASE over the baseline's: below 1 beats seasonal naive."""
        return self.mase / self.naive_mase if self.naive_mase else math.inf


def _fit_predict(history: Sequence[float], start: date, days: Sequence[date], cal: DayCalendar,
                 alpha: float) -> list[float]:
    from sklearn.linear_model import PoissonRegressor

    x = [cal.features(start + timedelta(days=i), start) for i in range(len(history))]
    model = PoissonRegressor(alpha=alpha, max_iter=1000)
    model.fit(x, list(history))
    return [float(v) for v in model.predict([cal.features(d, start) for d in days])]


def forecast(series: Mapping[SeriesKey, Sequence[float]], start: date, cal: DayCalendar, *, horizon: int = 30,
             alpha: float = 1e-4) -> list[Forecast]:
    """Fits each series (daily counts from ``start``) and forecasts the ``horizon`` days after it."""
    out = []
    for key, history in sorted(series.items()):
        if len(history) < 28:
            raise ValueError(f"series {key}: at least 28 days of history needed, got {len(history)}")
        first = start + timedelta(days=len(history))
        days = [first + timedelta(days=i) for i in range(horizon)]
        out.append(Forecast(key, days, _fit_predict(history, start, days, cal, alpha)))
    return out


def backtest(series: Mapping[SeriesKey, Sequence[float]], start: date, cal: DayCalendar, *, horizon: int = 30,
             alpha: float = 1e-4) -> Backtest:
    """Holds out the last ``horizon`` days of every series; errors summed over all series.

    MASE scales each error by the in-sample mean absolute error of the one-week seasonal naive
    forecast (Hyndman & Koehler 2006), so series of different sizes add up.
    """
    errors, naive_errors, scales = [], [], []
    for _key, history in sorted(series.items()):
        train, test = list(history[:-horizon]), list(history[-horizon:])
        if len(train) < 28:
            raise ValueError(f"at least 28 days before the {horizon} held out are needed")
        days = [start + timedelta(days=len(train) + i) for i in range(horizon)]
        predicted = _fit_predict(train, start, days, cal, alpha)
        naive = [train[len(train) - 7 + (i % 7)] for i in range(horizon)]
        scale = sum(abs(train[i] - train[i - 7]) for i in range(7, len(train))) / (len(train) - 7) or 1.0
        errors += [abs(p - t) for p, t in zip(predicted, test, strict=True)]
        naive_errors += [abs(n - t) for n, t in zip(naive, test, strict=True)]
        scales += [scale] * horizon
    mae = sum(errors) / len(errors)
    naive_mae = sum(naive_errors) / len(naive_errors)
    mase = sum(e / s for e, s in zip(errors, scales, strict=True)) / len(errors)
    naive_mase = sum(e / s for e, s in zip(naive_errors, scales, strict=True)) / len(errors)
    return Backtest(horizon=horizon, mae=mae, naive_mae=naive_mae, mase=mase, naive_mase=naive_mase)


def planted_volumes(seed: int, start: date, days: int, cal: DayCalendar,
                    bases: Mapping[SeriesKey, float]) -> dict[SeriesKey, list[float]]:
    """Seeded daily counts with a known structure, for tests and benchmarks.

    Weekdays busier than weekends; a closed holiday brings 30 % of a weekday; a make-up workday is
    a full weekday; the first two working days after a long holiday bring 2.2x and 1.6x (the
    backlog); the working day before one 1.3x; Poisson noise.
    """
    rng = random.Random(seed)
    weekly = (1.15, 1.1, 1.0, 1.0, 1.05, 0.6, 0.5)
    out: dict[SeriesKey, list[float]] = {}
    for key, base in sorted(bases.items()):
        counts = []
        for i in range(days):
            d = start + timedelta(days=i)
            if d in cal.holidays:
                level = 0.3
            elif d in cal.workdays:
                level = 1.0
            else:
                level = weekly[d.weekday()]
            if cal._after_long(d):
                level *= 2.2
            elif cal._after_long(d - timedelta(days=1)) and not cal.closed(d):
                level *= 1.6
            elif not cal.closed(d) and cal._closed_run_after(d) >= 3:
                level *= 1.3
            counts.append(float(_poisson(rng, base * level)))
        out[key] = counts
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:  # normal approximation: Knuth's loop is slow for large means
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
