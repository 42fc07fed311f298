"""Read-model tables of the monthly quality report. Written only through readmodel/report.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel, col

from readmodel.models import Ticket


# A published month: the canonical report JSON, its hash (anchored as milestone 0 of "report-YYYY-MM").
class QualityReport(SQLModel, table=True):
    month: str = Field(primary_key=True, max_length=7)
    report: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON, exactly as hashed
    report_hash: str = Field(max_length=66)
    record_hash: str = Field(max_length=66)
    milestone_leaf: str = Field(max_length=66)
    built_at: datetime


# The files published with a month: the record (gzipped canonical JSON) and the PDFs.
class QualityReportFile(SQLModel, table=True):
    month: str = Field(primary_key=True, max_length=7)
    name: str = Field(primary_key=True, max_length=32)  # record.json.gz | report-zh.pdf | report-en.pdf
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


# The month's tickets read from the index alone: one range scan for the aggregates and the record
# (bench/quality_report.py), instead of a lookup into the table per ticket.
TICKET_REPORT_INDEX = Index(
    "ix_ticket_report", col(Ticket.created_at), col(Ticket.team), col(Ticket.category), col(Ticket.status),
    col(Ticket.first_response_outcome), col(Ticket.resolution_outcome), col(Ticket.rating), col(Ticket.repeat_of),
    col(Ticket.root_cause), col(Ticket.id))
