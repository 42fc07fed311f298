"""The volume forecast sees China's long holidays coming and beats the seasonal-naive baseline."""

from __future__ import annotations

from datetime import date

import pytest

from analysis.forecast import DayCalendar, backtest, forecast, planted_volumes
from domain.policy import CalendarModel

BASES = {("delivery", "app"): 120.0, ("billing", "web"): 40.0, ("complaint", "phone"): 15.0}


@pytest.fixture(scope="module")
def cal() -> DayCalendar:
    spec = CalendarModel(holiday_region="CN").to_spec(range(2024, 2028))
    return DayCalendar(frozenset(map(date.fromisoformat, spec.holidays)),
                       frozenset(map(date.fromisoformat, spec.workdays)))


def test_backtest_over_national_day_beats_seasonal_naive(cal: DayCalendar) -> None:
    # History ends 30 days after 20 Sep 2026: the held-out month holds National Day (1-7 Oct),
    # its make-up workdays and the backlog after it, planted with known effects.
    start, end = date(2024, 1, 1), date(2026, 10, 20)
    series = planted_volumes(3, start, (end - start).days, cal, BASES)
    result = backtest(series, start, cal, horizon=30)
    print(f"MASE {result.mase:.3f} vs seasonal naive {result.naive_mase:.3f}: ratio {result.mase_ratio:.3f}")
    assert result.mase_ratio < 0.7
    assert result.mae < result.naive_mae


def test_forecast_sees_the_holiday_and_the_backlog(cal: DayCalendar) -> None:
    start = date(2024, 1, 1)
    series = planted_volumes(5, start, (date(2026, 9, 20) - start).days, cal, {("delivery", "app"): 120.0})
    [result] = forecast(series, start, cal, horizon=30)
    by_day = dict(zip(result.days, result.volume, strict=True))
    assert len(result.days) == 30 and result.days[0] == date(2026, 9, 20)
    national_day, back_to_work, ordinary_tuesday = date(2026, 10, 3), date(2026, 10, 8), date(2026, 9, 22)
    assert by_day[national_day] < 0.5 * by_day[ordinary_tuesday]
    assert by_day[back_to_work] > 1.6 * by_day[ordinary_tuesday]
