"""Bodies and answers of the staffing routes (rule 7): the roster on record, the plan, the forecast."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.schemas import RequestBody

# One request or answer covers at most a year of days: a bigger one is refused (422), not truncated.
MAX_RANGE_DAYS = 366


class RosterEntry(RequestBody):
    day: date = Field(description="YYYY-MM-DD")
    agents: int = Field(ge=0, le=100_000, description="agents rostered that day")


class RosterView(BaseModel):
    team: str
    data: list[RosterEntry]
    created: int = Field(0, description="days recorded for the first time by this request")


class PlanDayView(BaseModel):
    day: date
    team: str
    forecast_volume: float = Field(description="tickets expected, all the team's categories and channels")
    agents_needed: int = Field(description="on the roster, after shrinkage (Erlang C, [staffing] in the policy)")
    rostered: int | None = Field(description="agents on the roster on record; null: none recorded")
    short_by: int = Field(description="agents needed minus rostered (0 when covered or nothing is recorded)")


class PlanView(BaseModel):
    run_key: str = Field(description="the day of the run that made the plan")
    data: list[PlanDayView]


class SeriesView(BaseModel):
    category: str
    channel: str
    history_days: int
    history_tickets: int
    forecast_total: float = Field(description="tickets expected over the horizon")
    mase: float | None = Field(description="the model's backtest error (MASE); null: too little history")
    naive_mase: float | None = Field(description="the seasonal-naive baseline's MASE over the same days")
    mase_ratio: float | None = Field(description="mase / naive_mase: below 1 beats seasonal naive")


class ForecastView(BaseModel):
    run_key: str
    history_from: date
    history_to: date
    tickets: int = Field(description="tickets in the history read")
    series: list[SeriesView]
