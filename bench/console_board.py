"""The SLA board with many open tickets: server time of the page and of one live update.

Usage: ``.venv/bin/python -m bench.console_board [--tickets 100000] [--requests 60]``

Writes ``--tickets`` open tickets (four teams, four priorities, deadlines spread over the next and
the last hours, some breached, some waiting on the customer) into a temporary SQLite read model,
signs a supervisor in through the read model's own account functions, and calls the API app in
process (no network: the time is the server's) for:

- ``GET /tickets?limit=50``: the API's existing ticket list on the same read model (the baseline);
- ``GET /console/board``: the whole board page (counts by team, the 50 tickets nearest breach),
  computed (the view cache emptied before each request) and within the refresh interval (shared);
- ``GET /console/board/rows``: the live update one client's poll costs, the same two ways;
- one live update with 20 clients polling at once, the view computed once in it (wall time of the
  round divided by the clients: each client's share of one update); and the same update's server
  time per client (the 20 polls one after another, the first computing, summed and divided).

Then the live update as the board gets it, pushed (server-sent events, ``console/live.py``), on a
real uvicorn server in a process of its own (``--live-seconds`` per case, updates every second):
the server process's CPU time per update and per client with 1, ``--clients`` and 5 x ``--clients``
boards open on one view, and, as the same run's baseline, the same clients polling the rows once a
second instead. The extra CPU per added client (the slope between the cases) is what one more open
board costs; the total divided by the clients includes each update's one computation, shared.

Prints p50/p95 per request, each one's ratio to the baseline, the CPU time this process spent
per request (client and server together, as for the baseline): on a machine shared with other work
the wall times grow with its load, the CPU time does not; and the server's own time (inside the
app: the in-process client's share is as large as the page's).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

TEAMS = ("after-sales", "billing", "logistics", "installation")


def fill(url: str, count: int, now: datetime) -> None:
    from domain.encoding import format_time
    from readmodel.db import get_engine, init_db
    from readmodel.models import Ticket

    init_db(url)
    rng = random.Random(16)
    rows = []
    for i in range(count):
        status = rng.choices(["open", "in_progress", "waiting_on_customer"], [5, 4, 1])[0]
        first_pending = rng.random() < 0.3
        rows.append({
            "id": f"B-{i:07d}", "status": status, "priority": rng.choice(("P1", "P2", "P3", "P4")),
            "category": "after_sales", "team": rng.choice(TEAMS), "channel": "web", "supplier": None,
            "assignee": None if rng.random() < 0.4 else f"agent-{i % 300}", "customer_ref_hash": f"h{i}",
            "summary": f"Bench ticket {i}", "description": "", "created_at": now - timedelta(minutes=i % 5000),
            "updated_at": now, "milestone_count": 3, "breached": rng.random() < 0.05,
            "first_response_due": format_time(now + timedelta(minutes=rng.uniform(-30, 120))),
            "resolution_due": format_time(now + timedelta(hours=rng.uniform(-5, 120))),
            "first_response_outcome": "pending" if first_pending else "met", "resolution_outcome": "pending",
            "repeat_of": None, "rating": None, "resolution_code": None, "root_cause": None})
    with get_engine(url).begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Ticket), rows[start:start + 5000])


def supervisor_cookie(url: str, now: datetime) -> str:
    from console.auth import digest, new_token
    from readmodel import accounts
    from readmodel.alert_models import Person
    from readmodel.db import session_scope

    token = new_token()
    with session_scope(url) as session:
        person = Person(id="lead", display_name="Lead", email="lead@example.cn", team="after-sales",
                        role="supervisor", updated_at=now)
        accounts.invite(session=session, person=person, role="supervisor", suppliers="", invite_hash="x" * 64,
                        expires_at=now + timedelta(hours=1), now=now)
        accounts.set_password(session=session, person_id="lead", password_hash="bench-only", now=now)
        accounts.start_session(session=session, token_hash=digest(token), person_id="lead", csrf_token="c",
                               now=now, expires_at=now + timedelta(hours=8))
    return token


SERVER: dict[str, list[float]] = {}  # per request: time inside the app, ms
SERVER_LAST: list[float] = []
CPU: dict[str, list[float]] = {}  # per request: this process's CPU time, ms (what the machine's load does not change)


def server_timed(app: Any) -> Any:
    """The app, timing each request inside it (from the app being called to its last byte): the
    server's own time, without the in-process client's, which costs as much as the page here."""

    async def timed_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        began = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            SERVER_LAST.append((time.perf_counter() - began) * 1000)

    return timed_app


def timed(call: object, n: int, name: str = "") -> list[float]:
    out = []
    for _ in range(n):
        started, cpu = time.perf_counter(), time.process_time()
        answer = call()  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
        CPU.setdefault(name, []).append((time.process_time() - cpu) * 1000)
        SERVER.setdefault(name, []).append(SERVER_LAST.pop())
        assert answer.status_code == 200, (answer.status_code, answer.url, answer.text[:300])
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 2 else max(values)


def server_cpu(pid: int) -> float:
    """A process's CPU time so far, seconds (user + system, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pushed_updates(tmp: str, token: str, clients: int, seconds: float) -> list[tuple[str, int, float, float]]:
    """(mode, clients, server CPU ms per update, per update and client) for each case."""
    import asyncio
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "QT_VAR_DIR": tmp, "QT_CONSOLE_BOARD_REFRESH_SECONDS": "1",
           "QT_CONSOLE_LIVE_BOARDS_PER_PERSON": "100", "QT_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port), "--lifespan",
                               "off", "--no-access-log", "--timeout-graceful-shutdown", "1"], env=env)
    base = f"http://127.0.0.1:{port}"
    headers = {"Cookie": f"qt_console={token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the bench's API did not start"
            time.sleep(0.2)

        async def follow(n: int) -> tuple[float, int]:
            updates = [0] * n

            async def one(i: int, client: httpx.AsyncClient) -> None:
                async with client.stream("GET", "/console/board/stream?bucket=near",
                                         headers={**headers, "Accept": "text/event-stream"}) as answer:
                    assert answer.status_code == 200, answer.status_code
                    async for line in answer.aiter_lines():
                        updates[i] += line == ""  # an event (or a comment) ends with an empty line

            limits = httpx.Limits(max_connections=n + 5)
            async with httpx.AsyncClient(base_url=base, timeout=seconds + 60, limits=limits) as client:
                tasks = [asyncio.create_task(one(i, client)) for i in range(n)]
                await asyncio.sleep(3)  # every stream open, its first update taken
                began, counted = server_cpu(server.pid), sum(updates)
                await asyncio.sleep(seconds)
                used, got = server_cpu(server.pid) - began, sum(updates) - counted
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            return used, got

        async def poll(n: int) -> tuple[float, int]:
            async def one(client: httpx.AsyncClient) -> int:
                polls = 0
                ends = time.monotonic() + seconds
                while time.monotonic() < ends:
                    answer = await client.get("/console/board/rows?bucket=near", headers=headers)
                    assert answer.status_code == 200, answer.status_code
                    polls += 1
                    await asyncio.sleep(max(0.0, 1 - (time.monotonic() % 1)))
                return polls

            async with httpx.AsyncClient(base_url=base, timeout=60,
                                         limits=httpx.Limits(max_connections=n + 5)) as client:
                await client.get("/console/board/rows?bucket=near", headers=headers)
                began = server_cpu(server.pid)
                polls = sum(await asyncio.gather(*(one(client) for _ in range(n))))
                return server_cpu(server.pid) - began, polls

        out = []
        for mode, n in (("pushed", 1), ("pushed", clients), ("pushed", 5 * clients), ("polled", clients)):
            used, updates = asyncio.run(follow(n) if mode == "pushed" else poll(n))
            per_update = used * 1000 / max(updates / n, 1)
            out.append((mode, n, per_update, per_update / n))
        return out
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--live-seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["QT_VAR_DIR"] = tmp
        url = f"sqlite:///{Path(tmp) / 'qualitrail.db'}"
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill(url, args.tickets, now)
        print(f"{args.tickets:,} tickets written in {time.perf_counter() - started:.1f} s")
        token = supervisor_cookie(url, now)

        from fastapi.testclient import TestClient

        from api.main import create_app
        from settings import get_settings

        get_settings.cache_clear()
        # No lifespan: nothing here needs Temporal. The cookie goes in the header, as a browser sends it.
        client = TestClient(server_timed(create_app()), base_url="https://bench",
                            headers={"Cookie": f"qt_console={token}"}, follow_redirects=False)
        key = {"X-API-Key": "dev-supervisor"}
        from console.pages_tickets import CACHE

        def cold(path: str) -> object:
            CACHE._views.clear()  # as if every request came after the refresh interval
            return client.get(path, headers={"HX-Request": "true"})

        cases = {
            "GET /tickets?limit=50 (baseline)": lambda: client.get("/tickets?limit=50", headers=key),
            "GET /console/board, computed (cold)": lambda: cold("/console/board"),
            "GET /console/board/rows, computed (cold)": lambda: cold("/console/board/rows"),
            "GET /console/board, within the refresh interval": lambda: client.get("/console/board"),
            "GET /console/board/rows, within the refresh interval": lambda: client.get(
                "/console/board/rows", headers={"HX-Request": "true"}),
        }
        for call in cases.values():
            timed(call, 3)  # warm caches and the ORM
        CPU.clear()
        results = {name: timed(call, args.requests, name) for name, call in cases.items()}
        # Many clients polling the same board at once: wall time of one round divided by the clients.
        rounds = []
        live = f"live update, {args.clients} clients at once (per client)"
        with ThreadPoolExecutor(args.clients) as pool:
            for _ in range(max(3, args.requests // 10)):
                begun, cpu = time.perf_counter(), time.process_time()
                CACHE._views.clear()  # a new refresh interval: the first poll computes, the others share it
                answers = list(pool.map(lambda _: client.get("/console/board/rows", headers={"HX-Request": "true"}),
                                        range(args.clients)))
                assert all(a.status_code == 200 for a in answers)
                rounds.append((time.perf_counter() - begun) * 1000 / args.clients)
                CPU.setdefault(live, []).append((time.process_time() - cpu) * 1000 / args.clients)
        results[live] = rounds
        # What one update costs the server per client: the first poll of an interval computes the
        # view, every other client's poll is served from it (sequential, so the times do not overlap).
        per_client = f"live update, {args.clients} clients, server time per client"
        for _ in range(max(3, args.requests // 10)):
            CACHE._views.clear()
            SERVER_LAST.clear()
            for _ in range(args.clients):
                answer = client.get("/console/board/rows", headers={"HX-Request": "true"})
                assert answer.status_code == 200
            SERVER.setdefault(per_client, []).append(sum(SERVER_LAST) / args.clients)
            SERVER.setdefault(live, []).append(0.0)
        SERVER_LAST.clear()
        pushed = pushed_updates(tmp, token, args.clients, args.live_seconds)
    baseline = statistics.median(results["GET /tickets?limit=50 (baseline)"])
    table = Table(title=f"SLA board, {args.tickets:,} open tickets, SQLite, in-process (server time)")
    for column in ("request", "p50 ms", "p95 ms", "p50 / baseline", "CPU p50 ms", "server p50 ms", "server p95 ms"):
        table.add_column(column, justify="right" if column != "request" else "left")
    for name, values in results.items():
        server = SERVER.get(name, [])
        table.add_row(name, f"{statistics.median(values):.1f}", f"{pct(values, 95):.1f}",
                      f"{statistics.median(values) / baseline:.2f}", f"{statistics.median(CPU[name]):.1f}",
                      f"{statistics.median(server):.1f}" if any(server) else "-",
                      f"{pct(server, 95):.1f}" if any(server) else "-")
    per_client = SERVER[f"live update, {args.clients} clients, server time per client"]
    table.add_row(f"live update, {args.clients} clients, server time per client", "-", "-", "-", "-",
                  f"{statistics.median(per_client):.1f}", f"{pct(per_client, 95):.1f}")
    Console().print(table)
    table = Table(title=f"Live update of the board ({args.tickets:,} open tickets), a real server: its CPU time")
    for column in ("how", "open boards", "server CPU ms per update", "per update and board", "extra per added board"):
        table.add_column(column, justify="right" if column != "how" else "left")
    for i, (mode, n, per_update, share) in enumerate(pushed):
        slope = "-" if mode == "polled" or i == 0 else f"{(per_update - pushed[0][2]) / (n - 1):.3f}"
        table.add_row(mode if mode == "pushed" else "polled once a second (baseline)", str(n), f"{per_update:.1f}",
                      f"{share:.2f}", slope)
    Console().print(table)


if __name__ == "__main__":
    main()
