"""Root-cause analysis over a large generated history, and case search latency over a large library.

Usage: ``.venv/bin/python -m bench.analysis [--tickets 1000000] [--baseline 100000] [--cases 100000]``

1. Analysis: ``qualitrail data generate``'s code writes ``--tickets`` tickets (and, as the baseline
   from the same run, ``--baseline`` tickets into a second read model) into temporary SQLite read
   models; then the daily run's steps are timed: reading the window's failed tickets
   (``readmodel/analysis.py:failure_rows``) and the pure analysis (``analysis/run.py:analyse``:
   shares per step, root cause, month and team over every failure; clustering on the policy's
   ``cluster_sample`` texts, the rest counted by scaling). The found step share is checked against
   the planted one.
2. Case search: ``--cases`` cases (the typical-case generator's 240 problems, repeated with distinct
   ids and variation) in a ``CaseIndex``; p50/p95/p99 of a search over 200 Chinese and English queries,
   with and without a filter, against the baseline of the 240-case library.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from analysis.cases import CaseIndex, typical_cases
from analysis.generator import GeneratorConfig
from analysis.run import analyse, params_of
from cli.data import write_history
from domain.policy import load_policy
from readmodel import analysis as store
from readmodel.db import session_scope
from settings import ROOT

POLICY = load_policy(ROOT / "config" / "policy.toml")
QUERIES = ["洗衣机漏水", "配件型号不对", "包裹 物流 跟进", "重复扣款 退款", "客服没人回复", "工单被关闭",
           "washer leaking water", "wrong spare part", "parcel tracking logistics", "charged twice refund",
           "no reply waiting queue", "case closed without confirmation"]


def bench_analysis(tickets: int, tmp: Path) -> dict[str, float]:
    url = f"sqlite:///{tmp / f'history-{tickets}.db'}"
    began = time.perf_counter()
    truth = write_history(url, GeneratorConfig(tickets=tickets, seed=7, prefix="B"))
    generated = time.perf_counter() - began
    began = time.perf_counter()
    with session_scope(url) as session:
        rows, totals = store.failure_rows(session, since=datetime(2025, 1, 1, tzinfo=UTC))
    read = time.perf_counter() - began
    began = time.perf_counter()
    result, proposals = analyse(rows, totals, params_of(POLICY.analysis), ZoneInfo(POLICY.calendar.timezone),
                                datetime(2027, 1, 1, tzinfo=UTC))
    analysed = time.perf_counter() - began
    found = result["shares"]["by_step"]["diagnosis"]
    return {"tickets": tickets, "failures": len(rows), "generate_s": generated, "read_s": read,
            "analyse_s": analysed, "total_s": read + analysed, "share": found,
            "share_error": abs(found - truth.step_share["diagnosis"]), "clusters": len(result["problems"]),
            "proposals": len(proposals), "sampled": result["sampled_texts"]}


def bench_search(cases: int) -> dict[str, float]:
    base = typical_cases(240, 13)
    docs = [replace(base[i % len(base)], id=f"seed:{i:07d}") for i in range(cases)]
    if cases > len(base):  # variation beyond the 240 texts, so the index is not 240 documents repeated
        docs = [replace(d, problem=f"{d.problem} #{i % 997} batch{i % 89}") for i, d in enumerate(docs)]
    began = time.perf_counter()
    index = CaseIndex(docs)
    built = time.perf_counter() - began
    for q in QUERIES:  # warm-up: first calls allocate
        index.search(q, k=10)
    times: dict[str, list[float]] = {"plain": [], "filtered": []}
    for i in range(200):
        q = QUERIES[i % len(QUERIES)]
        for kind, filters in (("plain", {}), ("filtered", {"lang": "zh" if i % 2 else "en"})):
            t = time.perf_counter()
            hits = index.search(q, k=10, **filters)
            times[kind].append((time.perf_counter() - t) * 1000)
            assert hits or filters, q
    out: dict[str, float] = {"cases": cases, "build_s": built}
    for kind, values in times.items():
        values.sort()
        out[f"{kind}_p50"] = statistics.median(values)
        out[f"{kind}_p95"] = values[int(0.95 * len(values)) - 1]
        out[f"{kind}_p99"] = values[int(0.99 * len(values)) - 1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--only", choices=("analysis", "search"), help="run one half")
    args = parser.parse_args()
    console = Console(width=200)
    began = time.perf_counter()
    if args.only != "search":
        run_analysis(console, args.tickets, args.baseline)
    if args.only != "analysis":
        run_search(console, args.cases)
    console.print(f"Wall time {time.perf_counter() - began:.0f} s; load average {os.getloadavg()[0]:.1f}.")


def run_analysis(console: Console, tickets: int, baseline: int) -> None:
    with tempfile.TemporaryDirectory(prefix="qt-bench-analysis-") as tmp:
        runs = [bench_analysis(n, Path(tmp)) for n in (baseline, tickets)]
    table = Table(title="Root-cause analysis (one daily run)")
    for col in ("tickets", "failures", "texts clustered", "generate s", "read s", "analyse s", "run s (read+analyse)",
                "diagnosis share % (planted 45)", "problems", "proposals"):
        table.add_column(col, justify="right")
    for r in runs:
        table.add_row(f"{r['tickets']:,}", f"{r['failures']:,}", f"{r['sampled']:,}", f"{r['generate_s']:.1f}",
                      f"{r['read_s']:.1f}", f"{r['analyse_s']:.1f}", f"{r['total_s']:.1f}", f"{r['share']:.2f}",
                      str(r["clusters"]), str(r["proposals"]))
    console.print(table)
    big = runs[-1]
    console.print(f"Target: analysis over {big['tickets']:,} tickets <= 60 s: {big['total_s']:.1f} s, "
                  f"{'met' if big['total_s'] <= 60 else 'NOT met'}.")


def bench_http(cases: int, tmp: Path) -> dict[str, float]:
    """GET /cases through the API (uvicorn, a SQLite read model of ``cases`` cases), one client."""
    import socket
    import threading

    import httpx
    import uvicorn

    from api.main import create_app
    from readmodel import cases as case_store
    from readmodel.db import init_db
    from settings import Settings, get_settings

    url = f"sqlite:///{tmp / 'cases.db'}"
    init_db(url)
    base = typical_cases(240, 13)
    with session_scope(url) as session:
        case_store.add_cases(session, [
            {**asdict(base[i % len(base)]), "id": f"seed:{i:07d}",
             "problem": f"{base[i % len(base)].problem} #{i % 997} batch{i % 89}"} for i in range(cases)])
    app = create_app()
    get_settings.cache_clear()
    settings = Settings(database_url=url, var_dir=tmp, api_keys="k:agent")  # type: ignore[call-arg, arg-type]
    app.dependency_overrides[get_settings] = lambda: settings
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    times: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": "k"}, timeout=120) as client:
        began = time.perf_counter()
        assert client.get("/cases", params={"q": "warm"}).status_code == 200  # builds the index
        built = time.perf_counter() - began
        for i in range(200):
            t = time.perf_counter()
            answer = client.get("/cases", params={"q": QUERIES[i % len(QUERIES)], "limit": 10})
            times.append((time.perf_counter() - t) * 1000)
            assert answer.status_code == 200 and answer.json()["count"], answer.text
        baseline: list[float] = []
        for _ in range(200):
            t = time.perf_counter()
            assert client.get("/health/live").status_code == 200
            baseline.append((time.perf_counter() - t) * 1000)
    server.should_exit = True
    times.sort()
    baseline.sort()
    return {"cases": cases, "build_s": built, "plain_p50": statistics.median(times),
            "plain_p95": times[int(0.95 * len(times)) - 1], "plain_p99": times[int(0.99 * len(times)) - 1],
            "base_p50": statistics.median(baseline), "base_p99": baseline[int(0.99 * len(baseline)) - 1]}


def run_search(console: Console, cases: int) -> None:
    searches = [bench_search(240), bench_search(cases)]
    table = Table(title="Case search (BM25, jieba), 200 queries each, top 10")
    for col in ("cases", "index build s", "p50 ms", "p95 ms", "p99 ms", "filtered p50 ms", "filtered p99 ms"):
        table.add_column(col, justify="right")
    for s in searches:
        table.add_row(f"{s['cases']:,}", f"{s['build_s']:.1f}", f"{s['plain_p50']:.2f}", f"{s['plain_p95']:.2f}",
                      f"{s['plain_p99']:.2f}", f"{s['filtered_p50']:.2f}", f"{s['filtered_p99']:.2f}")
    console.print(table)
    worst = max(searches[-1]["plain_p99"], searches[-1]["filtered_p99"])
    console.print(f"Target: search p99 over {cases:,} cases <= 20 ms: {worst:.2f} ms, "
                  f"{'met' if worst <= 20 else 'NOT met'}.")
    with tempfile.TemporaryDirectory(prefix="qt-bench-cases-") as tmp:
        http = bench_http(cases, Path(tmp))
    console.print(f"Through the API (GET /cases over HTTP, {cases:,} cases, one client, 200 queries): "
                  f"first search {http['build_s']:.1f} s (builds the index), then p50 {http['plain_p50']:.2f} ms, "
                  f"p95 {http['plain_p95']:.2f} ms, p99 {http['plain_p99']:.2f} ms; baseline GET /health/live "
                  f"p50 {http['base_p50']:.2f} ms, p99 {http['base_p99']:.2f} ms.")


if __name__ == "__main__":
    main()
