"""Erlang C gives the textbook answers (rule 7: agents needed from volume, handle time and the SLA)."""

from __future__ import annotations

import math

import pytest

from analysis.staffing import agents_needed, average_speed_of_answer, erlang_c, service_level


def test_the_published_worked_example() -> None:
    # Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example": 100 calls in
    # 30 minutes, 180 s average handle time, 80 % to be answered within 20 s. Traffic 10 Erlangs;
    # with 11 agents the probability of waiting is 68.21 % and the service level 39 %; the answer
    # is 14 agents (service level 88.8 %).
    assert erlang_c(10.0, 11) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(10.0, 11, 180, 20) == pytest.approx(0.39, abs=0.005)
    need = agents_needed(arrivals=100, period_seconds=1800, handle_seconds=180, answer_seconds=20, target_share=0.8)
    assert need.traffic == pytest.approx(10.0)
    assert need.on_shift == 14
    assert need.service_level == pytest.approx(0.888, abs=0.001)
    assert service_level(10.0, 13, 180, 20) < 0.8 <= service_level(10.0, 14, 180, 20)


def test_the_recursion_stays_exact_for_large_centres() -> None:
    # A^N / N! overflows a float at N = 171; the Erlang B recursion does not.
    assert 0 < erlang_c(900.0, 950) < 1
    need = agents_needed(arrivals=27_000, period_seconds=8 * 3600, handle_seconds=960, answer_seconds=1800,
                         target_share=0.8, max_occupancy=0.85, shrinkage=0.3)
    assert need.on_shift >= math.ceil(need.traffic / 0.85)
    assert need.rostered == math.ceil(need.on_shift / 0.7)


def test_overload_and_bad_inputs() -> None:
    assert erlang_c(12.0, 10) == 1.0
    assert average_speed_of_answer(12.0, 10, 180) == math.inf
    assert agents_needed(arrivals=0, period_seconds=3600, handle_seconds=60, answer_seconds=20,
                         target_share=0.8).on_shift == 0
    with pytest.raises(ValueError):
        agents_needed(arrivals=10, period_seconds=0, handle_seconds=60, answer_seconds=20, target_share=0.8)
    with pytest.raises(ValueError):
        erlang_c(float("nan"), 3)


def test_a_daily_plan_per_team_from_the_forecast_and_the_short_roster() -> None:
    from datetime import date

    from analysis.forecast import Forecast
    from analysis.staffing import daily_plan, shortfalls
    from domain.policy import load_policy
    from settings import ROOT

    staffing = load_policy(ROOT / "config" / "policy.toml").staffing
    days = [date(2026, 10, 7), date(2026, 10, 8)]
    forecasts = [Forecast(("delivery", "app"), days, [100.0, 400.0]), Forecast(("delivery", "web"), days, [20.0, 80.0]),
                 Forecast(("billing", "web"), days, [50.0, 60.0])]
    plan = daily_plan(forecasts, {"delivery": "logistics", "billing": "billing"}, staffing,
                      {"logistics": 1800.0, "billing": 1800.0})
    by = {(row.day, row.team): row for row in plan}
    assert by[(days[0], "logistics")].volume == 120.0 and by[(days[1], "logistics")].volume == 480.0
    # The day after the holiday needs more agents than the holiday; each meets 80 % within 30 min.
    assert by[(days[1], "logistics")].need.rostered > by[(days[0], "logistics")].need.rostered
    assert all(row.need.service_level >= 0.8 for row in plan)
    roster = {key: row.need.rostered for key, row in by.items()}
    roster[(days[1], "logistics")] -= 2
    [(row, short)] = shortfalls(plan, roster)
    assert (row.day, row.team, short) == (days[1], "logistics", 2)
