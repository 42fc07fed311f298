"""Activities of the daily forecast and staffing (rule 7): plan from the history, then the shortfalls.

Both are idempotent: the plan is stored under its run key (a retry or a second run the same day
replaces it), and the shortfalls leave out recipients whose inbox already holds that very alert.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity

from analysis.forecast import DayCalendar, Forecast, backtest, forecast
from analysis.staffing import daily_plan
from domain.policy import CalendarModel, Policy, load_policy
from domain.staffing import PlanOutcome, Shortfall, StaffingRequest, shortfall_key
from readmodel import staffing as store
from readmodel.alert_models import Alert
from readmodel.db import session_scope
from readmodel.staffing_models import StaffingPlanDay

# The forecast needs four weeks of history; its backtest four more than the horizon it holds out.
MIN_HISTORY_DAYS = 28


def day_calendar(policy: Policy, years: range) -> DayCalendar:
    """The forecast's calendar: the region's holidays and make-up days, with the policy's own dates."""
    spec = CalendarModel(holiday_region=policy.forecast.holiday_region, holidays=policy.calendar.holidays,
                         workdays=policy.calendar.workdays).to_spec(years)
    return DayCalendar(frozenset(map(date.fromisoformat, spec.holidays)),
                       frozenset(map(date.fromisoformat, spec.workdays)))


def answer_seconds(policy: Policy, team_of: dict[str, str]) -> dict[str, float]:
    """Each team's first-response target at the policy's answer priority (the strictest of its categories)."""
    out: dict[str, float] = {"default": policy.targets_for("")[policy.staffing.answer_priority].first_response_seconds}
    for category, team in team_of.items():
        target = policy.targets_for(category)[policy.staffing.answer_priority].first_response_seconds
        out[team] = min(out.get(team, target), target)
    return out


class StaffingActivities:
    def __init__(self, db_url: str, policy_file: Path) -> None:
        self.db_url = db_url
        self.policy_file = policy_file

    @activity.defn
    def plan_staffing(self, req: StaffingRequest) -> PlanOutcome:
        """Reads daily counts, forecasts ``horizon_days`` from the run's day, stores agents needed per day and team."""
        policy = load_policy(self.policy_file)
        tz = ZoneInfo(policy.calendar.timezone)
        run_day = date.fromisoformat(req.run_key)
        window_from = run_day - timedelta(days=policy.forecast.history_days)
        since = datetime.combine(window_from, time(), tz).astimezone(UTC)
        until = datetime.combine(run_day, time(), tz).astimezone(UTC)
        with session_scope(self.db_url) as session:
            counts, tickets = store.daily_counts(session, since=since, until=until, tz=tz)
            team_of = store.team_of_categories(session, since=since)
        activity.heartbeat("history read")
        # The series start at the first day with a ticket: leading empty days are no history.
        first = min((d for days in counts.values() for d in days), default=run_day)
        length = (run_day - first).days
        note = "" if length >= MIN_HISTORY_DAYS else f"{length} days of history; {MIN_HISTORY_DAYS} needed"
        series = {k: [float(days.get(first + timedelta(days=i), 0)) for i in range(length)]
                  for k, days in counts.items() if not note}
        horizon = policy.forecast.horizon_days
        cal = day_calendar(policy, range(first.year - 1, run_day.year + 2))
        alpha = policy.forecast.regularization
        forecasts = forecast(series, first, cal, horizon=horizon, alpha=alpha) if series else []
        figures = []
        for f in forecasts:  # two fits per series for the backtest: tell Temporal this worker is alive
            figures.append(self._figures(f, series[f.key], first, cal, horizon, alpha))
            activity.heartbeat(f"backtest {f.key}")
        plan = daily_plan(forecasts, team_of, policy.staffing, answer_seconds(policy, team_of))
        rows = [StaffingPlanDay(run_key=req.run_key, day=p.day, team=p.team, volume=round(p.volume, 2),
                                agents_needed=p.need.rostered, on_shift=p.need.on_shift,
                                service_level=round(p.need.service_level, 4)) for p in plan]
        with session_scope(self.db_url) as session:
            store.store_plan(session, run_key=req.run_key, history_from=first, history_to=run_day - timedelta(days=1),
                             tickets=tickets, series=figures, plan=rows)
        return PlanOutcome(run_key=req.run_key, tickets=tickets, series=len(forecasts), plan_days=len(rows),
                           note=note)

    @staticmethod
    def _figures(f: Forecast, history: list[float], first: date, cal: DayCalendar, horizon: int,
                 alpha: float) -> dict[str, Any]:
        """One series as the API serves it: its forecast total and its backtest against seasonal naive."""
        out: dict[str, Any] = {"category": f.key[0], "channel": f.key[1], "history_days": len(history),
                               "history_tickets": int(sum(history)), "forecast_total": round(sum(f.volume), 2),
                               "mase": None, "naive_mase": None, "mase_ratio": None}
        if len(history) >= MIN_HISTORY_DAYS + horizon and sum(history[-horizon:]) > 0:
            bt = backtest({f.key: history}, first, cal, horizon=horizon, alpha=alpha)
            ratio = bt.mase_ratio
            out.update(mase=round(bt.mase, 4), naive_mase=round(bt.naive_mase, 4),
                       mase_ratio=round(ratio, 4) if ratio != float("inf") else None)
        return out

    @activity.defn
    def find_shortfalls(self, req: StaffingRequest) -> list[Shortfall]:
        """The run's (day, team) whose roster on record is below the need, each with the recipients
        (team head, quality committee) not yet alerted of it. A day without a roster on record is not
        compared: there is nothing recorded to be short (decision 017)."""
        policy = load_policy(self.policy_file)
        out = []
        with session_scope(self.db_url) as session:
            plan = store.plan_days(session, run_key=req.run_key)
            if not plan:
                return []
            roster = store.roster_map(session, first=plan[0].day, last=plan[-1].day)
            for row in plan:
                have = roster.get((row.day, row.team))
                if have is None or have >= row.agents_needed:
                    continue
                s = Shortfall(day=row.day.isoformat(), team=row.team, volume=row.volume, needed=row.agents_needed,
                              rostered=have)
                wanted = dict.fromkeys([policy.department_head(row.team), policy.performance.veto.quality_committee])
                s.recipients = [r for r in wanted if session.get(Alert, shortfall_key(s, r)) is None]
                if s.recipients:
                    out.append(s)
        return out
