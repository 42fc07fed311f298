"""Public feedback intake: throughput and latency of ``POST /feedback`` at 10 and 50 clients.

Run: ``.venv/bin/python bench/feedback_intake.py`` (about a minute; ``--help`` for the knobs).

Starts the whole stack of ``make run`` on free ports in a temporary folder (rate limits raised for
the run), then N concurrent clients each send their next request as soon as the previous one
answered (closed loop): every submission is a different customer's different words, so each is
stored, sealed and handed to its own triage workflow. Baseline, in the same run and at the same
concurrency: ``GET /health/live`` on the same server. Afterwards it waits until the worker has
triaged every stored feedback and prints how long that took. Any non-2xx answer exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/feedback_intake.py` from a clean clone
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.report import pct, table  # noqa: E402
from cli.stack import temporary_stack  # noqa: E402
from readmodel.db import session_scope  # noqa: E402
from readmodel.feedback_models import Feedback  # noqa: E402

TEXTS = ["冰箱不制冷，师傅还没上门", "建议增加晚间上门时段", "我要投诉：安装迟到三小时", "Where is my delivery?"]


async def _cell(url: str, clients: int, seconds: float, feedback: bool) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    stop_at = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient, n: int) -> None:
        nonlocal failures
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            start = time.perf_counter()
            if feedback:
                answer = await http.post("/feedback", json={
                    "text": f"{TEXTS[i % len(TEXTS)]} #{uuid.uuid4().hex[:8]}", "contact": f"bench-{n}-{i}@example.cn"})
            else:
                answer = await http.get("/health/live")
            latencies.append(time.perf_counter() - start)
            if answer.status_code >= 300:
                failures += 1
                print(f"  {answer.status_code}: {answer.text[:200]}", flush=True)

    began = time.monotonic()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(http, n) for n in range(clients)))
    return latencies, failures, time.monotonic() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="10,50", help="comma-separated concurrency levels")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measured cell")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs, databases)")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    env = {"QT_FEEDBACK_RATE_LIMIT": "10000000/minute", "QT_FEEDBACK_CUSTOMER_RATE_LIMIT": "10000000/minute"}
    rows, failed = [], 0
    with temporary_stack("qualitrail-feedback-", keep=args.keep, extra_env=env) as stack:
        url = stack.config.api_url
        print(f"API {url}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        asyncio.run(_cell(url, 5, 2, True))  # warm-up (first imports, first workflow starts)
        for clients in levels:
            base, base_failed, base_time = asyncio.run(_cell(url, clients, args.seconds / 2, False))
            lat, lat_failed, lat_time = asyncio.run(_cell(url, clients, args.seconds, True))
            failed += base_failed + lat_failed
            p50, p99, b50, b99 = (pct(lat, 0.5), pct(lat, 0.99), pct(base, 0.5), pct(base, 0.99))
            rows.append([clients, "POST /feedback", f"{len(lat) / lat_time:.1f}", f"{p50 * 1000:.1f}",
                         f"{p99 * 1000:.1f}", f"{p50 / b50:.1f}×", f"{p99 / b99:.1f}×", lat_failed])
            rows.append([clients, "GET /health/live (baseline)", f"{len(base) / base_time:.1f}",
                         f"{b50 * 1000:.1f}", f"{b99 * 1000:.1f}", "1.0×", "1.0×", base_failed])
        db_url = f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}"
        began = time.monotonic()
        while True:
            with session_scope(db_url) as session:
                total = session.exec(select(func.count()).select_from(Feedback)).one()
                waiting = session.exec(select(func.count()).select_from(Feedback)
                                       .where(Feedback.status == "received")).one()
            if not waiting or time.monotonic() - began > 600:
                break
            time.sleep(1)
        drained = time.monotonic() - began
    print(table("Public feedback intake (closed loop)",
                ["clients", "operation", "req/s", "p50 ms", "p99 ms", "p50 vs baseline", "p99 vs baseline",
                 "errors"], rows))
    print(f"{total} feedback stored; the worker finished triaging them {drained:.0f} s after the last answer "
          f"({waiting} still waiting).")
    return 1 if failed or waiting else 0


if __name__ == "__main__":
    sys.exit(main())
