"""Supervision at scale: a month's spot-check sample and a month's points over 1,000,000 closed tickets.

Run: ``.venv/bin/python bench/supervision.py`` (SQLite and PostgreSQL from ``pgserver``, 1,000,000
tickets each; ``--tickets``, ``--backend`` to change). Issue 13's target: ≤ 10 s for each of
"draw the month's sample" and "close and rank the month's points".

The read model is filled straight with milestones as the ticket workflows write them (opened,
assigned, first response, resolved, a breach for some, a confirmation with a rating, a reopen for
some), across 40 teams × 8 categories and 2,000 agents: by default a year of closed tickets
(November 2025 to October 2026, a twelfth in each month; the measured month is October), with
``--one-month`` all of them closed in October. The leaves are stand-ins (a hash of subject and
seq): sampling and points read the chain's kinds and data, never re-hash it.

Timed, one after the other on the same data:
- **floor** (the baseline): one pass reading the month's milestones (``subject, seq, kind, data,
  leaf``) into Python: what any computation over the month must at least pay;
- **sample**: ``readmodel.spot_check.draw_and_record`` (population, stratified draw, the sample's
  milestone and its review tasks written);
- **points**: ``readmodel.points.close_month`` and the ranking read back, as the monthly activity
  does (entries derived and appended, ranked, the ledger hashed, its milestone written).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/supervision.py` from a clean clone
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.report import table  # noqa: E402
from domain.milestones import GENESIS  # noqa: E402
from domain.points import PointsRules  # noqa: E402
from domain.policy import load_policy  # noqa: E402
from domain.spot_check import SampleRequest, SeedBlock  # noqa: E402
from readmodel import points, spot_check  # noqa: E402
from readmodel.db import get_engine, init_db  # noqa: E402

MONTH = "2026-10"
START = datetime(2026, 10, 1, tzinfo=UTC)
# A year of tickets, November 2025 to October 2026; the measured month is the last.
MONTH_STARTS = [datetime(2025 + (m > 12) * 1, (m - 1) % 12 + 1, 1, tzinfo=UTC) for m in range(11, 23)]
TEAMS = [f"team-{i:02d}" for i in range(40)]
CATEGORIES = ["billing", "card", "loan", "account", "app", "branch", "complaint", "delivery"]
AGENTS = [f"agent-{i:04d}" for i in range(2000)]
CHUNK = 20_000


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


COLUMNS = ("subject", "seq", "kind", "at", "prev", "leaf", "data")


def _ticket(i: int, one_month: bool) -> list[tuple[object, ...]]:
    """One closed ticket's milestones (rows in COLUMNS order): in a month of the year by its number
    (or all in the measured month), spread over its first 28 days."""
    subject = f"TK-{i:07d}"
    month_start = START if one_month else MONTH_STARTS[i % len(MONTH_STARTS)]
    opened = month_start + timedelta(seconds=(i * 2_333) % (28 * 86_400))
    steps: list[tuple[str, dict[str, str], float]] = [
        ("opened", {"team": TEAMS[i % len(TEAMS)], "category": CATEGORIES[(i // len(TEAMS)) % len(CATEGORIES)],
                    "priority": "P3"}, 0),
        ("assigned", {"assignee": AGENTS[(i * 7) % len(AGENTS)]}, 600),
        ("first_response", {}, 3_000),
    ]
    if i % 20 == 0:
        steps.append(("sla_breach", {"clock": "resolution"}, 90_000))
    steps.append(("resolved", {"resolution_code": "fixed"}, 100_000))
    if i % 33 == 0:
        steps.append(("reopened", {"reason": "not fixed"}, 110_000))
        steps.append(("resolved", {"resolution_code": "fixed"}, 120_000))
    steps.append(("confirmed", {"rating": str(1 + (i * 13) % 5)}, 130_000))
    rows: list[tuple[object, ...]] = []
    prev = GENESIS
    for seq, (kind, data, after) in enumerate(steps):
        leaf = "0x" + hashlib.blake2b(f"{subject}:{seq}".encode(), digest_size=32).hexdigest()
        rows.append((subject, seq, kind, _iso(opened + timedelta(seconds=after)), prev, leaf,
                     json.dumps(data, sort_keys=True, separators=(",", ":"))))
        prev = leaf
    return rows


def fill(url: str, tickets: int, one_month: bool) -> tuple[float, int]:
    """Inserts ``tickets`` closed tickets' milestones through the driver (COPY on PostgreSQL): the
    set-up is not what is measured, and a million tickets through the ORM would take most of an hour."""
    began, count = time.perf_counter(), 0
    engine = get_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if url.startswith("sqlite"):
            marks = ", ".join("?" for _ in COLUMNS)
            sql = f"INSERT INTO milestone ({', '.join(COLUMNS)}) VALUES ({marks})"
            for first in range(0, tickets, CHUNK):
                rows = [r for i in range(first, min(first + CHUNK, tickets)) for r in _ticket(i, one_month)]
                cur.executemany(sql, rows)
                count += len(rows)
        else:
            with cur.copy(f"COPY milestone ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for i in range(tickets):
                    for row in _ticket(i, one_month):
                        copy.write_row(row)
                        count += 1
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - began, count


def floor(url: str) -> float:
    end = START.replace(month=11)
    began = time.perf_counter()
    with get_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT subject, seq, kind, data, leaf FROM milestone WHERE at >= :a AND at < :b"),
                            {"a": _iso(START), "b": _iso(end)})
        n = sum(1 for _ in rows)
    assert n > 0
    return time.perf_counter() - began


def sample(url: str) -> tuple[float, int]:
    policy = load_policy(ROOT / "config" / "policy.toml").spot_check.to_policy()
    request = SampleRequest(month=MONTH, not_before="2026-11-01T08:00:00Z", policy=policy,
                            seed=SeedBlock(number=123, hash="0x" + "ab" * 32, timestamp=1_793_000_000))
    began = time.perf_counter()
    with Session(get_engine(url)) as session:
        drawn = spot_check.draw_and_record(session=session, request=request)
    return time.perf_counter() - began, len(drawn.tasks)


def close_points(url: str) -> tuple[float, int]:
    policy = load_policy(ROOT / "config" / "policy.toml")
    rules: PointsRules = policy.points_rules()
    began = time.perf_counter()
    with Session(get_engine(url)) as session:
        closed = points.close_month(session=session, month=MONTH, rules=rules,
                                    top_percent=policy.performance.points_top_percent)
        # What the activity returns: the whole ranking, to name the flagged top.
        ranks, _ = points.ranking(session=session, month=MONTH, limit=10_000_000)
    assert ranks and closed.entry_count
    return time.perf_counter() - began, closed.entry_count


@contextmanager
def database(backend: str) -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix=f"qt-bench-{backend}-"))
    folder.chmod(0o755)  # pgserver runs PostgreSQL as its own user, which must reach the folder
    try:
        if backend == "sqlite":
            yield f"sqlite:///{folder}/readmodel.db"
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(folder / "data", cleanup_mode="delete")
        name = f"qt_{uuid.uuid4().hex[:12]}"
        server.psql(f"CREATE DATABASE {name};")
        try:
            yield str(server.get_uri(name)).replace("postgresql://", "postgresql+psycopg://", 1)
        finally:
            get_engine.cache_clear()
            server.cleanup()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(backend: str, tickets: int, one_month: bool) -> list[list[str]]:
    with database(backend) as url:
        init_db(url)
        seconds, rows = fill(url, tickets, one_month)
        print(f"{backend}: {tickets:,} tickets, {rows:,} milestones written in {seconds:.1f} s", flush=True)
        base = floor(url)
        drawn_s, drawn = sample(url)
        points_s, entries = close_points(url)
        get_engine(url).dispose()
    return [[backend, f"{tickets:,}", "floor: read the month's milestones (baseline)", f"{base:.2f}", "", "—"],
            [backend, f"{tickets:,}", "draw the month's sample", f"{drawn_s:.2f}", f"{drawn:,} tasks",
             "met" if drawn_s <= 10 else "missed"],
            [backend, f"{tickets:,}", "close and rank the month's points", f"{points_s:.2f}", f"{entries:,} entries",
             "met" if points_s <= 10 else "missed"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--one-month", action="store_true",
                        help="every ticket closed in the measured month (default: a year, one twelfth in it)")
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        rows += run(backend, args.tickets, args.one_month)
        print("\n".join(" | ".join(r) for r in rows[-3:]), flush=True)  # each backend as soon as it is done
    spread = "all closed in the measured month" if args.one_month else "a year of them, the measured month the last"
    print(table(f"Supervision over {args.tickets:,} closed tickets ({spread}; target ≤ 10 s each)",
                ["database", "tickets", "operation", "seconds", "output", "target"], rows))


if __name__ == "__main__":
    main()
