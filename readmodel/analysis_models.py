"""Read-model tables of the analysis (rule 6), the proposals to the joint meeting (rules 11 and 20) and
the case library (rule 13). Written only through readmodel/analysis.py; readmodel/db.py's ``init_db``
imports this module so ``create_all`` creates the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


# What the analysis knows of a ticket beyond the ticket row: the process step its failure is recorded
# against and how often it was reopened (the generator writes these; live tickets get them from
# spot-check findings and reopen milestones, readmodel/analysis.py:failure_rows).
class TicketFacts(SQLModel, table=True):
    ticket_id: str = Field(primary_key=True, max_length=64)
    step: str | None = Field(default=None, index=True, max_length=64)
    reopens: int = 0


# One day's analysis run: its results as JSON (shares, problems, priority list), stored once per day.
class AnalysisRun(SQLModel, table=True):
    run_key: str = Field(primary_key=True, max_length=32)  # the run's date, YYYY-MM-DD
    as_of: datetime
    created_at: datetime = Field(index=True)
    tickets: int
    failures: int
    flagged_steps: str = Field(max_length=400)  # comma-separated
    result: str = Field(sa_column=Column(Text, nullable=False))


# One problem's figures in one run: the numbers a joint meeting's solution is verified against
# (rule 20: the same measure before and after), kept for every problem key, systemic or not.
class ProblemShare(SQLModel, table=True):
    run_key: str = Field(primary_key=True, max_length=32)
    problem_key: str = Field(primary_key=True, max_length=40)
    share_of_failures: float  # percent of the run's failures
    tickets: int  # estimated over the whole window
    recent: int  # in the last trend_days


# A systemic problem proposed to the quality committee, at most once per problem key.
class MeetingProposal(SQLModel, table=True):
    problem_key: str = Field(primary_key=True, max_length=40)
    title: str = Field(max_length=300)
    departments: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    category: str = Field(max_length=64)
    step: str | None = Field(default=None, max_length=64)
    root_cause: str | None = Field(default=None, max_length=64)
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # JSON: reasons, clusters, shares, tickets
    ticket_ids: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    status: str = Field(default="proposed", index=True, max_length=16)  # proposed | accepted | rejected
    run_key: str = Field(max_length=32)
    proposed_at: datetime
    meeting_id: str | None = Field(default=None, max_length=64)
    accepted_by: str | None = Field(default=None, max_length=64)
    accepted_at: datetime | None = None
    # The committee may turn a proposal down (decision 020): who, when and why; the key stays taken.
    rejected_by: str | None = Field(default=None, max_length=64)
    rejected_at: datetime | None = None
    reject_reason: str | None = Field(default=None, max_length=2000)


# A case of the library: a problem, its cause, the measure taken and the outcome.
class Case(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=100)  # source:reference, e.g. ticket:T-1, seed:0001
    source: str = Field(index=True, max_length=16)  # ticket | finding | meeting | seed
    problem: str = Field(sa_column=Column(Text, nullable=False))
    cause: str = Field(max_length=200)
    measure: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str = Field(max_length=400)
    category: str = Field(default="", index=True, max_length=64)
    team: str = Field(default="", index=True, max_length=64)
    step: str = Field(default="", max_length=64)
    lang: str = Field(default="", max_length=8)
    # The ticket whose text the problem quotes (ticket and finding cases): erasing the ticket's texts
    # erases the quote too (readmodel/records.py:erase_texts).
    ticket_id: str = Field(default="", index=True, max_length=64)
    created_at: datetime = Field(index=True)  # when the problem happened (a ticket's creation, ...)
    added_at: datetime = Field(index=True)  # when it joined the library: its newest is the library's version
