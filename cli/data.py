"""`qualitrail data generate`: a seeded, realistic history in the read model (analysis/generator.py
says what it plants), plus the case library's typical cases (analysis/cases.py)."""

from __future__ import annotations

import hashlib
import time
import zlib
from datetime import date
from typing import Any

import typer

from settings import get_settings

data_app = typer.Typer(help="Generated data for analysis, forecasts and demos.", no_args_is_help=True)

BATCH = 20_000


def ticket_rows(tickets: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Read-model rows (ticket, facts) of generated tickets (analysis.generator.GeneratedTicket)."""
    rows, facts = [], []
    for t in tickets:
        rows.append({
            "id": t.id, "status": "closed", "priority": t.priority, "category": t.category, "team": t.team,
            "channel": t.channel, "supplier": None, "assignee": f"agent-{zlib.crc32(t.id.encode()) % 40:02d}",
            "customer_ref_hash": "0x" + hashlib.sha256(t.customer.encode()).hexdigest(), "summary": t.summary,
            "description": t.description, "created_at": t.created_at, "updated_at": t.created_at,
            "first_response_due": None, "resolution_due": None, "first_response_outcome": "met",
            "resolution_outcome": "breached" if t.breached else "met", "breached": t.breached,
            "repeat_of": t.repeat_of, "rating": t.rating, "resolution_code": "fixed" if not t.failed else "reworked",
            "root_cause": t.root_cause, "milestone_count": 0})
        facts.append({"ticket_id": t.id, "step": t.step, "reopens": t.reopens})
    return rows, facts


def write_history(db_url: str, cfg: Any, *, progress: bool = False) -> Any:
    """Generates ``cfg`` into the read model at ``db_url`` in batches; returns the planted truth."""
    from analysis.generator import iter_generate, truth_of
    from readmodel import analysis as store
    from readmodel.db import init_db, session_scope

    init_db(db_url)
    calendar = history_calendar(cfg)
    kept: list[Any] = []
    batch: list[Any] = []
    with session_scope(db_url) as session:
        for ticket in iter_generate(cfg, calendar):
            batch.append(ticket)
            if len(batch) >= BATCH:
                store.insert_history(session, *ticket_rows(batch))
                session.commit()
                kept += [_light(t) for t in batch]
                batch = []
                if progress:
                    typer.echo(f"  {len(kept):>9,} tickets", err=True)
        store.insert_history(session, *ticket_rows(batch))
        session.commit()
        kept += [_light(t) for t in batch]
    return truth_of(cfg, kept)


def history_calendar(cfg: Any) -> Any:
    """The policy's calendar (its holidays and make-up workdays), China's when it names no region."""
    from domain.policy import load_policy

    model = load_policy(get_settings().policy_file).calendar
    model = model.model_copy(update={"holiday_region": model.holiday_region or "CN", "timezone": cfg.timezone})
    return model.to_spec(range(cfg.start.year - 1, cfg.start.year + 3))


def _light(t: Any) -> Any:
    t.description = t.summary = ""  # the truth needs only labels and marks
    return t


def write_typical_cases(db_url: str, count: int, seed: int) -> int:
    from dataclasses import asdict

    from analysis.cases import typical_cases
    from readmodel import cases as case_store
    from readmodel.db import init_db, session_scope

    init_db(db_url)
    with session_scope(db_url) as session:
        return case_store.add_cases(session, [asdict(c) for c in typical_cases(count, seed)])


@data_app.command("generate")
def generate(
    tickets: int = typer.Option(3000, min=1, max=20_000_000, help="how many tickets"),
    seed: int = typer.Option(7, help="same seed, same history"),
    start: str = typer.Option("2026-01-01", help="first day (YYYY-MM-DD, policy time zone)"),
    days: int = typer.Option(180, min=7, max=3660, help="how many days the history spans"),
    prefix: str = typer.Option("GEN", help="ticket id prefix (GEN-0000001, ...)"),
    cases: int = typer.Option(240, min=0, max=100_000, help="typical cases for the case library"),
    database_url: str | None = typer.Option(None, "--database-url", help="read model (default: settings)"),
) -> None:
    """Write a seeded history with planted structure (see analysis/generator.py) into the read model."""
    from analysis.generator import GeneratorConfig

    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise typer.BadParameter(f"--start must be YYYY-MM-DD, got {start!r}") from exc
    url = database_url or get_settings().db_url
    began = time.perf_counter()
    cfg = GeneratorConfig(tickets=tickets, seed=seed, start=first, days=days, prefix=prefix)
    truth = write_history(url, cfg, progress=tickets > BATCH)
    added = write_typical_cases(url, cases, seed) if cases else 0
    typer.echo(f"{truth.tickets:,} tickets ({truth.failures:,} failures) and {added} typical cases in "
               f"{time.perf_counter() - began:.1f} s")
    typer.echo("planted: " + ", ".join(f"{k} {v}" for k, v in sorted(truth.by_problem.items())))
    typer.echo(f"step shares (% of failures): {({k: round(v, 2) for k, v in truth.step_share.items()})}; "
               f"reopen rate {truth.reopen_rate:.2f} %, repeat rate {truth.repeat_rate:.2f} %")
