"""The ticket API tests once more, with the worker and the API on PostgreSQL (see conftest.py).

Imported rather than copied, so a test added to tests/api/test_tickets_api.py runs on both engines.
"""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, inspect, pool, text

from cli.stack import Stack
from tests.api.test_tickets_api import *  # noqa: F403 - every test_* there, with this folder's `api`
from tests.api.test_tickets_api import AGENT, new_ticket
from tests.helpers import eventually


def test_stack_really_writes_to_postgresql(stack: Stack, api: httpx.Client) -> None:
    url = stack.config.extra_env["QT_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    assert str(api.base_url).rstrip("/") == stack.config.api_url  # this folder's stack, not the root one
    body = new_ticket()
    assert api.post("/tickets", json=body, headers=AGENT).status_code == 201
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        assert {"ticket", "milestone", "anchorbatch", "voucher"} <= set(inspect(engine).get_table_names())

        def stored() -> None:
            with engine.connect() as conn:
                status = conn.execute(text("SELECT status FROM ticket WHERE id = :id"),
                                      {"id": body["ticket_id"]}).scalar()
            assert status == "open"

        eventually(stored)
    finally:
        engine.dispose()
