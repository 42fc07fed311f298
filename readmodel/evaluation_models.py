"""Read-model table of mystery shopping. Written only through readmodel/evaluations.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


# One scored evaluation by an external evaluator; its milestone is subject "eval-<id>", seq 0.
class Evaluation(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    target_kind: str = Field(max_length=8)  # team | agent
    target: str = Field(index=True, max_length=128)
    month: str = Field(index=True, max_length=7)  # of visited_at
    visited_at: str = Field(max_length=40)
    scores: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON {criterion: score}
    evaluator: str = Field(max_length=128)  # API key id, not a key
    notes_hash: str = Field(default="", max_length=66)
    request_hash: str = Field(max_length=66)
    leaf: str = Field(max_length=66)
    filed_at: datetime
