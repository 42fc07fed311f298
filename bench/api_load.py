"""API load benchmark: ticket creation and reads under 10, 50 and 100 concurrent clients.

Run: ``.venv/bin/python bench/api_load.py`` (about 1.5 minutes; ``--help`` for the knobs).

Everything runs locally and is started here, on loopback only: the whole stack of ``make run``
(``cli.stack.Stack`` with free ports and a temp folder: Temporal dev server, Anvil, contracts, worker
and the API under uvicorn), then an asyncio HTTP client (httpx) drives it with N concurrent clients,
each sending its next request as soon as the previous one answered (closed loop).

Operations, each at every concurrency level and bounded both in requests and in seconds:
- ``POST /tickets`` (agent key): validates and starts the ticket's workflow, then answers with the
  ticket as opened (pure code) without waiting for the workflow's first task; a retry queries it;
- ``GET /tickets/{id}``: the live state, a Temporal query to the ticket's workflow;
- ``GET /tickets``: the first page (50) from the read model;
- baseline ``GET /health/live``: a no-op endpoint on the same server, measured in the same run at the
  same concurrency; each operation's latency is shown as a multiple of it.

Two more tables say where a create spends its time:
- CPU per request by process (Temporal server, worker, API, Anvil, this client), from /proc, over
  each measured cell: what bounds throughput on a small machine;
- a single-client breakdown: ``POST /tickets`` against the two Temporal calls it makes
  (``start_workflow``, then the ``state`` query that waits for the worker's first workflow task),
  sent directly from here with the same settings, interleaved with the API calls.

Then an open loop: creates (and, as the baseline, health checks) arrive at random (Poisson) times at
half the create throughput measured at the largest closed-loop level, each sent whether or not the
earlier ones answered, as desks do; its p99 is what a desk sees at a sustainable load.

Any non-2xx answer or transport error is counted, printed and makes the command exit 1.
``--temporal-wal`` runs Temporal's SQLite file in WAL mode instead of ``make run``'s default journal,
to compare (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/api_load.py` from a clean clone
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy  # noqa: E402

from bench.report import pct, table  # noqa: E402
from cli.stack import StackConfig, temporary_stack  # noqa: E402
from domain.milestones import format_time, salted_hash  # noqa: E402
from domain.policy import load_policy  # noqa: E402
from domain.tickets import TicketInput  # noqa: E402
from settings import Settings  # noqa: E402
from temporal.client import connect_temporal  # noqa: E402
from workflows.ticket import TicketWorkflow  # noqa: E402

AGENT = {"X-API-Key": "dev-agent"}
TARGET_CLIENTS = 50
TARGET_P99_MS = 50.0
TARGET_SINGLE_P50_MS = 30.0  # a create alone answers without waiting for the workflow's first task
TARGET_OPEN_P99_MS = 150.0  # create p99 in the open loop at half the measured capacity
OPS: dict[str, str] = {"health": "GET /health/live (baseline)", "create": "POST /tickets",
                       "get": "GET /tickets/{id} (live query)", "list": "GET /tickets (read model)"}


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere or once it is gone)."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def new_ticket() -> dict[str, str]:
    # A fresh customer per ticket: no repeat-complaint alerts, the plain creation path.
    return {"ticket_id": f"LOAD-{uuid.uuid4().hex[:16]}", "customer_ref": f"cust-{uuid.uuid4().hex[:12]}",
            "channel": "web", "category": "after_sales", "priority": "P3", "team": "after-sales",
            "summary": "Router does not connect", "description": "Since the firmware update"}


@dataclass
class Cell:
    """One operation at one concurrency level."""

    op: str
    clients: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful and failed alike
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during the cell

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def ms(self, q: float) -> float:
        return pct(self.latencies, q) * 1000


class Load:
    def __init__(self, http: httpx.AsyncClient, max_requests: int, seconds: float,
                 pids: dict[str, int | None] | None = None) -> None:
        self.http = http
        self.max_requests = max_requests
        self.seconds = seconds
        self.pids = pids or {}  # None: this process
        self.created: list[str] = []

    async def run(self, op: str, clients: int, send: Callable[[], Awaitable[httpx.Response]]) -> Cell:
        """``clients`` loops share the request budget; none starts a request after the time bound."""
        cell = Cell(op, clients)
        issued = 0
        cpu_before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        started = time.perf_counter()
        deadline = started + self.seconds

        async def client() -> None:
            nonlocal issued
            while issued < self.max_requests and time.perf_counter() < deadline:
                issued += 1
                t0 = time.perf_counter()
                try:
                    answer = await send()
                    ok = 200 <= answer.status_code < 300
                    reason = f"{answer.status_code} {answer.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, reason = False, f"{type(exc).__name__}: {exc}"
                cell.latencies.append(time.perf_counter() - t0)
                if not ok:
                    cell.failures.append(reason)

        await asyncio.gather(*(client() for _ in range(clients)))
        cell.wall = time.perf_counter() - started
        cell.cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in self.pids.items()}
        return cell

    async def open_loop(self, op: str, rate: float, send: Callable[[], Awaitable[httpx.Response]],
                        seed: int = 7) -> Cell:
        """Requests arrive at Poisson times at ``rate`` per second, each sent without waiting for others."""
        cell = Cell(op, 0)
        rng = random.Random(seed)
        cpu_before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

        async def one() -> None:
            t0 = time.perf_counter()
            try:
                answer = await send()
                ok, reason = 200 <= answer.status_code < 300, f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            cell.latencies.append(time.perf_counter() - t0)
            if not ok:
                cell.failures.append(reason)

        started = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        at = 0.0
        while len(tasks) < self.max_requests:
            at += rng.expovariate(rate)
            if at > self.seconds:
                break
            await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        cell.wall = time.perf_counter() - started
        cell.cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in self.pids.items()}
        return cell

    async def health(self) -> httpx.Response:
        return await self.http.get("/health/live")

    async def create(self) -> httpx.Response:
        answer = await self.http.post("/tickets", json=new_ticket(), headers=AGENT)
        if answer.status_code == 201:
            self.created.append(answer.json()["ticket"]["ticket_id"])
        return answer

    async def get(self) -> httpx.Response:
        return await self.http.get(f"/tickets/{random.choice(self.created)}", headers=AGENT)

    async def list(self) -> httpx.Response:
        return await self.http.get("/tickets", headers=AGENT)

    async def settle(self, within: float) -> None:
        """Wait until the worker has written every created ticket to the read model, so the reads
        are not measured against a backlog of persist activities (and the list is full)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            answer = await self.http.get("/tickets", params={"limit": 1}, headers=AGENT)
            if answer.status_code == 200 and answer.json()["count"] >= len(self.created):
                return
            await asyncio.sleep(0.2)
        print(f"warning: read model still behind after {within:g} s", flush=True)


async def breakdown(load: Load, config: StackConfig, samples: int) -> str:
    """One client: the API's create against the same two Temporal calls made directly from here."""
    settings = Settings(_env_file=ROOT / ".env", temporal_address=config.temporal_address,
                        temporal_namespace=config.namespace, policy_file=config.policy_file)
    client = await connect_temporal(settings)
    policy = load_policy(settings.policy_file)
    secret = settings.secret_key.get_secret_value().encode()
    api, start, query = [], [], []
    for _ in range(samples):
        t0 = time.perf_counter()
        answer = await load.create()
        api.append(time.perf_counter() - t0)
        if answer.status_code != 201:
            raise SystemExit(f"breakdown create failed: {answer.status_code} {answer.text[:200]}")
        body = new_ticket()
        ticket = TicketInput(
            ticket_id=body["ticket_id"], customer_ref_hash=salted_hash(secret, body["customer_ref"], "customer"),
            channel=body["channel"], category=body["category"], priority=body["priority"], team=body["team"],
            summary=body["summary"], description=body["description"],
            policy=policy.ticket_policy(category=body["category"], team=body["team"], year=datetime.now(UTC).year),
            request_hash="bench", opened_by="bench", compensate=settings.compensation_enabled)
        t0 = time.perf_counter()
        handle = await client.start_workflow(
            TicketWorkflow.run, ticket, id=ticket.ticket_id, task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
        t1 = time.perf_counter()
        await handle.query(TicketWorkflow.state, format_time(datetime.now(UTC)))
        t2 = time.perf_counter()
        start.append(t1 - t0)
        query.append(t2 - t1)
        load.created.append(ticket.ticket_id)
    direct = [a + b for a, b in zip(start, query, strict=True)]
    rows = [(name, f"{pct(xs, 0.5) * 1000:.1f}", f"{pct(xs, 0.95) * 1000:.1f}") for name, xs in (
        ("POST /tickets through the API", api),
        ("start_workflow (direct)", start),
        ("state query right after the start (direct; waits for the first workflow task)", query),
        ("start + query (direct)", direct))]
    rows.append(("API's own share (API p50 - direct p50)",
                 f"{(pct(api, 0.5) - pct(direct, 0.5)) * 1000:.1f}", ""))
    verdict = "met" if pct(api, 0.5) * 1000 <= TARGET_SINGLE_P50_MS else "NOT met"
    return table(f"Create at 1 client: where the time goes ({samples} of each, interleaved)",
                 ("step", "p50 ms", "p95 ms"), rows) + (
        f"\nTarget create p50 <= {TARGET_SINGLE_P50_MS:g} ms at 1 client: {pct(api, 0.5) * 1000:.1f} ms, {verdict}.")


async def bench(config: StackConfig, pids: dict[str, int | None], levels: Sequence[int], max_requests: int,
                seconds: float, warmup: int, samples: int, open_seconds: float
                ) -> tuple[list[Cell], list[Cell], float, str]:
    # Idle connections are dropped well before uvicorn closes them (5 s): no reuse racing its close.
    limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels), keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=config.api_url, limits=limits, timeout=60, trust_env=False) as http:
        load = Load(http, max_requests, seconds, pids)
        # Warm-up (not recorded): the worker is polling, modules and connections are warm.
        warm = Load(http, warmup, 60)
        for cell in (await warm.run("create", 5, warm.create), await warm.run("get", 5, warm.get)):
            if cell.failures:
                raise SystemExit(f"warm-up {cell.op} failed: {cell.failures[0]}")
        load.created.extend(warm.created)
        cells: list[Cell] = []
        for clients in levels:
            for op, send in (("health", load.health), ("create", load.create), ("get", load.get),
                             ("list", load.list)):
                if op == "get":
                    await load.settle(within=60)
                cell = await load.run(op, clients, send)
                cells.append(cell)
                print(f"  {op:<6} {clients:>3} clients: {cell.requests:>5} requests, p99 {cell.ms(0.99):8.1f} ms,"
                      f" {len(cell.failures)} non-2xx", flush=True)
        # Half the create throughput of the largest level: a load the stack can sustain.
        capacity = max(c.requests / c.wall for c in cells if c.op == "create" and c.clients == max(levels))
        rate = capacity / 2
        opened = Load(http, max_requests, open_seconds, pids)
        opened.created = load.created
        await load.settle(within=60)
        open_cells = [await opened.open_loop("health", rate, opened.health),
                      await opened.open_loop("create", rate, opened.create)]
        for cell in open_cells:
            print(f"  open loop {cell.op:<6} at {rate:.1f}/s: {cell.requests} requests, p99 {cell.ms(0.99):8.1f} ms,"
                  f" {len(cell.failures)} non-2xx", flush=True)
        await load.settle(within=60)  # an idle system again for the single-client breakdown
        return cells, open_cells, rate, await breakdown(load, config, samples)


def latency_table(cells: Sequence[Cell]) -> str:
    baseline = {c.clients: c for c in cells if c.op == "health"}
    rows = []
    for c in cells:
        base = baseline[c.clients]
        rows.append((OPS[c.op], c.clients, c.requests, f"{c.requests / c.wall:,.1f}", f"{c.ms(0.5):.1f}",
                     f"{c.ms(0.95):.1f}", f"{c.ms(0.99):.1f}", len(c.failures),
                     f"{c.ms(0.5) / base.ms(0.5):.1f}x", f"{c.ms(0.99) / base.ms(0.99):.1f}x"))
    return table("Latency and throughput by operation and concurrent clients (closed loop)",
                 ("operation", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "non-2xx",
                  "p50 / baseline", "p99 / baseline"), rows)


def cpu_table(cells: Sequence[Cell], names: Sequence[str]) -> str:
    rows = []
    for c in cells:
        per = [c.cpu.get(n, 0.0) * 1000 / max(1, c.requests) for n in names]
        busy = sum(c.cpu.values()) / c.wall
        rows.append((OPS[c.op], c.clients, *(f"{x:.1f}" for x in per), f"{sum(per):.1f}", f"{busy:.2f}"))
    return table("CPU ms per request by process (includes background work of earlier tickets)",
                 ("operation", "clients", *names, "total", "cores busy"), rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", default="10,50,100", help="comma-separated concurrency levels")
    parser.add_argument("--requests", type=int, default=2000, help="request bound per operation and level")
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per operation and level")
    parser.add_argument("--open-seconds", type=float, default=20.0, help="length of the open-loop run")
    parser.add_argument("--warmup", type=int, default=20, help="unrecorded creates and reads before measuring")
    parser.add_argument("--samples", type=int, default=30, help="creates of each kind in the 1-client breakdown")
    parser.add_argument("--temporal-wal", action="store_true",
                        help="run Temporal's SQLite file in WAL mode (not what `make run` does; for comparison)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, databases)")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.clients.split(",") if n.strip()]

    started = time.monotonic()
    # WAL keeps every commit fsynced (synchronous=FULL) but needs one fsync per commit, not several.
    temporal_args = ("--sqlite-pragma", "journal_mode=wal") if args.temporal_wal else ()
    with temporary_stack("qualitrail-api-load-", keep=args.keep, temporal_args=temporal_args) as stack:
        assert stack.anvil is not None
        pids: dict[str, int | None] = {name: stack.procs[name].pid for name in ("temporal", "worker", "api")}
        pids.update(anvil=stack.anvil.pid, client=None)
        print(f"API {stack.config.api_url} (uvicorn, one process), Temporal SQLite file "
              f"{'WAL' if args.temporal_wal else 'default journal'}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; per cell at most {args.requests} "
              f"requests or {args.seconds:g} s\n", flush=True)
        cells, open_cells, rate, split = asyncio.run(bench(stack.config, pids, levels, args.requests, args.seconds,
                                                           args.warmup, args.samples, args.open_seconds))

    print("\n" + latency_table(cells), flush=True)
    print(cpu_table(cells, list(pids)), flush=True)
    print(table(f"Open loop at half the measured create capacity ({rate:.1f} requests/s, Poisson arrivals)",
                ("operation", "requests", "p50 ms", "p95 ms", "p99 ms", "non-2xx", "p99 / baseline"),
                [(OPS[c.op], c.requests, f"{c.ms(0.5):.1f}", f"{c.ms(0.95):.1f}", f"{c.ms(0.99):.1f}", len(c.failures),
                  f"{c.ms(0.99) / open_cells[0].ms(0.99):.1f}x") for c in open_cells]), flush=True)
    print(split, flush=True)
    open_p99 = open_cells[1].ms(0.99)
    print(f"Target create p99 <= {TARGET_OPEN_P99_MS:g} ms in the open loop: {open_p99:.1f} ms, "
          f"{'met' if open_p99 <= TARGET_OPEN_P99_MS else 'NOT met'}.")
    target = [c for c in cells if c.op == "create" and c.clients == TARGET_CLIENTS]
    if target:
        p99 = target[0].ms(0.99)
        verdict = "met" if p99 <= TARGET_P99_MS else "NOT met"
        print(f"Target create p99 <= {TARGET_P99_MS:g} ms at {TARGET_CLIENTS} clients: {p99:.1f} ms, {verdict}.")
    # Other work on the machine shows here: the stack alone keeps well under 2 busy cores (CPU table).
    print(f"Wall time {time.monotonic() - started:.0f} s; load average now {os.getloadavg()[0]:.1f}.")
    failed = [c for c in [*cells, *open_cells] if c.failures]
    for c in failed:
        print(f"FAILED: {OPS[c.op]} at {c.clients} clients: {len(c.failures)} non-2xx or errors, "
              f"first: {c.failures[0]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    status = main()
    # Skip interpreter teardown: the Temporal core can abort at exit (sdk-python #300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
