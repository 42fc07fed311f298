"""The monthly report's record and figures on PostgreSQL (migrations to head, planted month): the
customer-feedback section (decision 023) counts as on SQLite, to the hand count."""

from __future__ import annotations

from collections.abc import Callable

from domain.report import counts_from_record, figures_from_counts
from readmodel import report
from readmodel.db import session_scope
from tests.report.planted import MONTH, plant


def test_the_feedback_section_on_postgresql(new_pg_url: Callable[[], str]) -> None:
    url = new_pg_url()
    plant(url)  # init_db runs the Alembic migrations, the feedback erasure's included
    with session_scope(url) as session:
        doc, record, _body = report.compute(session, MONTH)
    section = doc["figures"]["customer_feedback"]
    assert section["received"] == 11 and section["duplicates"] == 1
    assert section["triage"] == {"ticket": 6, "attached": 1, "suggestion": 1, "spam": 1, "pending": 1}
    assert section["observer_suggestions"] == {"received": 4, "answered": 2, "answered_within_target": 1,
                                               "within_target_rate": "25.0"}
    # The auditor's way, line by line, agrees with the SQL-built report on PostgreSQL too.
    assert figures_from_counts(record, counts_from_record(record)) == doc["figures"]
