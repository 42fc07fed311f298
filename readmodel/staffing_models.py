"""Read-model tables of forecast and staffing (rule 7): the roster on record, the plan each daily run
computes, and the run's forecast quality. Written only through readmodel/staffing.py; readmodel/db.py's
``init_db`` imports this module so ``create_all`` creates the tables.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


# Agents a team has rostered on a day, as its head (or quality) put it on record.
class RosterDay(SQLModel, table=True):
    day: date = Field(primary_key=True)
    team: str = Field(primary_key=True, max_length=64)
    agents: int
    updated_by: str = Field(max_length=64)  # the key id ("team_head#3"), never the key
    updated_at: datetime


# One day's forecast-and-staffing run: the window it read and each series' backtest, as JSON.
class StaffingRun(SQLModel, table=True):
    run_key: str = Field(primary_key=True, max_length=32)  # the run's date, YYYY-MM-DD
    created_at: datetime = Field(index=True)
    history_from: date
    history_to: date  # the last day read (the day before the run)
    tickets: int
    series: str = Field(sa_column=Column(Text, nullable=False))  # JSON list, one entry per (category, channel)


# Agents one team needs on one day, as one run planned it: a re-run of that day replaces its rows.
class StaffingPlanDay(SQLModel, table=True):
    run_key: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    team: str = Field(primary_key=True, max_length=64)
    volume: float  # forecast tickets, all the team's categories and channels
    agents_needed: int  # on the roster, after shrinkage
    on_shift: int  # at work at once, before shrinkage
    service_level: float
