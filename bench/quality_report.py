"""The monthly quality report over a large read model: SQLite and PostgreSQL (pgserver), target <= 10 s.

Plants ``--tickets`` ticket rows (by default 1,000,000: most in the report month, the rest spread
over the three months before it, for the trends) plus a few hundred vouchers, deductions, meetings
and evaluations, then times, in the same run:

- baseline: one ``SELECT count(*)`` over the month's tickets (the floor of touching its rows),
- figures: every figure by SQL aggregates (``readmodel/report.py:ticket_counts`` + the record's
  small parts: what the page shows),
- publish: the whole activity's work (figures, the frozen per-ticket record hashed and gzipped,
  both PDFs, the milestone; one transaction),
- audit: the auditor's recomputation of every figure from the record, in Python, line by line.

Run: ``.venv/bin/python -m bench.quality_report [--tickets 1000000] [--only sqlite|postgresql]``
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from domain.points import month_bounds
from domain.report import counts_from_record, figures_from_counts
from readmodel import report
from readmodel.db import get_engine, init_db
from readmodel.models import Ticket
from services.report_pdf import render_pdf

MONTH = "2026-11"
TEAMS = ("after-sales", "billing", "delivery", "installation", "hotline", "online")
CATEGORIES = ("after_sales", "complaint", "request", "billing", "delivery")
STATUSES = ("closed",) * 6 + ("resolved", "in_progress", "open", "cancelled")
OUTCOMES = ("met",) * 8 + ("breached", "pending")
CAUSES = ("parts_delay", "billing_error", "rude_agent", "wrong_diagnosis", "late_visit", "app_bug") + ("",) * 14
COLUMNS = ("id", "status", "priority", "category", "team", "channel", "customer_ref_hash", "summary", "description",
           "created_at", "updated_at", "first_response_outcome", "resolution_outcome", "breached", "repeat_of",
           "rating", "root_cause", "milestone_count")


def _rows(n: int, in_month: float, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    start, end = month_bounds(MONTH)
    span = (end - start).total_seconds()
    for i in range(n):
        back = 0 if rng.random() < in_month else rng.randint(1, 3)
        at = start - timedelta(days=30 * back) + timedelta(seconds=rng.random() * span)
        fr, res = rng.choice(OUTCOMES), rng.choice(OUTCOMES)
        rating = rng.randint(1, 5) if rng.random() < 0.6 else None
        yield (f"T-{i:07d}", rng.choice(STATUSES), "P2", rng.choice(CATEGORIES), rng.choice(TEAMS), "app",
               "0x" + "ab" * 32, "s", "d", at.replace(tzinfo=None), at.replace(tzinfo=None), fr, res,
               "breached" in (fr, res), "T-0000000" if rng.random() < 0.04 else None, rating,
               rng.choice(CAUSES) or None, 6)


def plant(url: str, n: int, in_month: float) -> float:
    """Insert the tickets in chunks (COPY on PostgreSQL); returns seconds taken."""
    init_db(url)
    engine = get_engine(url)
    t0 = time.perf_counter()
    rows = _rows(n, in_month)
    chunk = 100_000
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            raw = conn.connection.driver_connection
            with raw.cursor().copy(f"COPY ticket ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO ticket ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in row))
                if len(batch) == chunk:
                    conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
                    batch = []
            if batch:
                conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, this process's CPU seconds (SQLite runs inside it; PostgreSQL's server does not)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    import pgserver  # type: ignore[import-untyped]

    server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE bench;")
        yield server.get_uri("bench").replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()


def run(kind: str, n: int, in_month: float) -> list[Any]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        load = plant(url, n, in_month)
        engine = get_engine(url)
        start, end = month_bounds(MONTH)
        with Session(engine) as s:
            base, month_rows = timed(lambda: s.exec(select(func.count()).select_from(Ticket).where(
                col(Ticket.created_at) >= start, col(Ticket.created_at) < end)).one())
        with Session(engine) as s:
            figures_s, _ = timed(lambda: figures_from_counts(
                report.build_record(s, MONTH, top_problems=3, trend_months=3, with_tickets=False),
                report.ticket_counts(s, MONTH)))
        with Session(engine) as s:
            publish_s, publish_cpu, row = cpu_timed(lambda: report.publish(
                session=s, month=MONTH, top_problems=3, trend_months=3, render_pdf=render_pdf))
            packed = report.get_file(session=s, month=MONTH, name=report.RECORD_FILE) or b""
        import gzip
        import json

        record = json.loads(gzip.decompress(packed))
        audit_s, again = timed(lambda: figures_from_counts(record, counts_from_record(record)))
        same = again == json.loads(row.report)["figures"]
        return [kind, f"{n:,}", f"{int(month_rows):,}", f"{load:.1f}", f"{base:.2f}", f"{figures_s:.2f}",
                f"{publish_s:.2f}", f"{publish_cpu:.2f}", f"{publish_s / max(base, 1e-9):.0f}×",
                f"{len(packed) / 1e6:.1f}", f"{audit_s:.2f}", "yes" if same else "NO",
                "yes" if publish_s <= 10 else "no"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--in-month", type=float, default=0.85, help="share of tickets in the report month")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    table = Table(title=f"Monthly quality report of {MONTH} ({datetime.now(UTC):%Y-%m-%d})")
    for name in ("read model", "tickets", "in month", "load s", "baseline count s", "figures s", "publish s",
                 "publish CPU s (this process)", "publish ÷ baseline", "record MB (gz)", "audit s", "audit = report",
                 "≤ 10 s"):
        table.add_column(name, justify="right")
    for kind in ("sqlite", "postgresql"):
        if args.only in (None, kind):
            table.add_row(*run(kind, args.tickets, args.in_month))
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
