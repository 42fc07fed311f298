"""Ticket lifecycle throughput over the real HTTP API, against a bare-Temporal baseline in the same run.

Run: ``.venv/bin/python bench/lifecycle.py`` (a few minutes; ``--help`` for the knobs).

Starts the whole local stack with ``cli.stack.Stack`` on free ports in a temp folder (Temporal dev
server, Anvil, contracts, one worker process, the API process) with the normal
``config/policy.toml``, so no SLA warning or breach fires during the run. Then:

1. Ours: N tickets (default 500) each driven create -> respond -> resolve -> confirm through the
   HTTP API (aiohttp, at most ``--concurrency`` tickets in flight; confirm with the customer token
   returned at create).
2. Baseline: the same N lifecycles on ``bench/baseline_workflow.py`` (same Updates, same number of
   activities per step, no-op activities) started and updated straight through the Temporal client at
   the same concurrency, on the same Temporal server, by its own worker process on its own task
   queue. A second baseline row also sends the two queries our API makes (create reads the new
   ticket's state, confirm reads the token version first), to separate those from the rest.
3. Scaling: a second worker process of each kind on the same task queues, and both runs again.
4. Memory: a fresh worker, then ``--open`` tickets (default 1000) created and left open; the
   worker's RSS (with any children) before and at peak gives MiB per 1,000 open tickets.

Prints tickets/s, the ours/baseline ratio, p50/p95/p99 per call, CPU seconds per process per
phase (where the time goes) and the memory figure, as Markdown tables. Everything is torn down at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/lifecycle.py` from a clean clone
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from temporalio.client import Client  # noqa: E402

from bench.baseline_workflow import BaselineWorkflow, new_baseline_worker  # noqa: E402
from bench.report import pct, table  # noqa: E402
from cli.stack import Stack, temporary_stack  # noqa: E402

CALLS = ("create", "respond", "resolve", "confirm")
AGENT = {"X-API-Key": "dev-agent"}
BASELINE_READY = "baseline worker polling"


# ---------------------------------------------------------------------- processes


class Processes:
    """CPU seconds of each named process (and its children) between two snapshots."""

    def __init__(self) -> None:
        self.procs: dict[str, tuple[psutil.Process, bool]] = {}

    def watch(self, name: str, pid: int, *, children: bool = True) -> None:
        self.procs[name] = (psutil.Process(pid), children)

    def cpu(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, (proc, children) in self.procs.items():
            try:
                family = [proc, *proc.children(recursive=True)] if children else [proc]
                out[name] = sum(p.cpu_times().user + p.cpu_times().system for p in family)
            except psutil.NoSuchProcess:
                continue
        return out


def rss(pid: int) -> int:
    """Resident bytes of a process and its children (the worker has none today, but might)."""
    proc = psutil.Process(pid)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def wait_for_line(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """A worker is only useful once it polls: wait for its log line, not just for the process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{path.name}: process exited with {proc.returncode}")
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{path.name}: no {text!r} after {timeout:.0f} s")


def stop_our_worker(stack: Stack, name: str) -> None:
    """Graceful stop of one worker (SIGTERM, as Stack.stop does), so in-flight tasks are handed back."""
    proc = stack.procs.pop(name)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_baseline_worker(stack: Stack, name: str, task_queue: str) -> subprocess.Popen[bytes]:
    log_path = stack.logs / f"{name}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--baseline-worker",
                             f"{stack.config.temporal_address},{stack.config.namespace},{task_queue}"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_line(log_path, BASELINE_READY, proc)
    return proc


def run_baseline_worker(spec: str) -> None:
    """Entry point of a baseline worker process (``--baseline-worker address,namespace,queue``)."""
    address, namespace, task_queue = spec.split(",")

    async def serve() -> None:
        client = await Client.connect(address, namespace=namespace)
        async with new_baseline_worker(client, task_queue):
            print(f"{BASELINE_READY} {task_queue}", flush=True)
            await asyncio.Event().wait()  # until SIGTERM

    asyncio.run(serve())


# ---------------------------------------------------------------------- load


@dataclass
class Phase:
    label: str
    tickets: int
    seconds: float
    latencies: dict[str, list[float]]
    errors: list[str]
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return (self.tickets - len(self.errors)) / self.seconds

    def add(self, other: Phase) -> None:
        self.tickets += other.tickets
        self.seconds += other.seconds
        self.errors += other.errors
        for k, v in other.latencies.items():
            self.latencies[k] += v
        for k, cpu in other.cpu.items():
            self.cpu[k] = self.cpu.get(k, 0.0) + cpu


Lifecycle = Callable[[int, dict[str, list[float]]], Awaitable[None]]


async def drive(n: int, concurrency: int, lifecycle: Lifecycle) -> tuple[float, dict[str, list[float]], list[str]]:
    """Runs ``n`` lifecycles with at most ``concurrency`` in flight; one failing ticket is an error row."""
    latencies: dict[str, list[float]] = {c: [] for c in CALLS}
    errors: list[str] = []
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            try:
                await lifecycle(i, latencies)
            except Exception as exc:  # noqa: BLE001 - counted and shown, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}"[:300])

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(concurrency, n))))
    return time.perf_counter() - started, latencies, errors


def ticket_body(run: str, i: int) -> dict[str, Any]:
    # A fresh customer per ticket: no repeat-complaint alerts, so every ticket takes the same path.
    return {"ticket_id": f"LC-{run}-{i}", "customer_ref": f"bench-{uuid.uuid4().hex}", "channel": "web",
            "category": "after_sales", "priority": "P3", "team": "after-sales",
            "summary": "Router does not connect", "description": "Since the firmware update"}


def our_lifecycle(http: aiohttp.ClientSession, run: str, *, open_only: bool = False) -> Lifecycle:
    async def call(latencies: dict[str, list[float]], name: str, path: str, body: dict[str, Any],
                   headers: dict[str, str], expect: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        async with http.post(path, json=body, headers=headers) as r:
            payload: dict[str, Any] = await r.json(content_type=None)
            if r.status != expect:
                raise RuntimeError(f"{name} {path}: HTTP {r.status} {payload}")
        latencies[name].append(time.perf_counter() - t0)
        return payload

    async def lifecycle(i: int, latencies: dict[str, list[float]]) -> None:
        created = await call(latencies, "create", "/tickets", ticket_body(run, i), AGENT, 201)
        if open_only:
            return
        tid, token = created["ticket"]["ticket_id"], created["customer_token"]
        await call(latencies, "respond", f"/tickets/{tid}/respond", {"message": "Looking into it"}, AGENT, 200)
        await call(latencies, "resolve", f"/tickets/{tid}/resolve",
                   {"resolution_code": "config_fix", "root_cause": "firmware"}, AGENT, 200)
        done = await call(latencies, "confirm", f"/tickets/{tid}/confirm", {"rating": 5},
                          {"X-Customer-Token": token}, 200)
        if done["status"] != "closed":
            raise RuntimeError(f"{tid} ended {done['status']}")

    return lifecycle


def baseline_lifecycle(client: Client, task_queue: str, run: str, *, queries: bool) -> Lifecycle:
    async def lifecycle(i: int, latencies: dict[str, list[float]]) -> None:
        wid = f"BL-{run}-{i}"
        t0 = time.perf_counter()
        handle = await client.start_workflow(BaselineWorkflow.run, wid, id=wid, task_queue=task_queue)
        if queries:  # the API reads the new ticket's state before answering
            await handle.query(BaselineWorkflow.state)
        latencies["create"].append(time.perf_counter() - t0)
        for name, update in (("respond", BaselineWorkflow.respond), ("resolve", BaselineWorkflow.resolve),
                             ("confirm", BaselineWorkflow.confirm)):
            t0 = time.perf_counter()
            if queries and name == "confirm":  # the API checks the customer token's version first
                await handle.query(BaselineWorkflow.state)
            await handle.execute_update(update)
            latencies[name].append(time.perf_counter() - t0)
        if await handle.result() != "closed":
            raise RuntimeError(f"{wid} did not close")

    return lifecycle


async def measure(label: str, n: int, concurrency: int, lifecycle: Lifecycle, procs: Processes) -> Phase:
    before = procs.cpu()
    seconds, latencies, errors = await drive(n, concurrency, lifecycle)
    after = procs.cpu()
    phase = Phase(label, n, seconds, latencies, errors,
                  {k: after[k] - before.get(k, 0.0) for k in after})
    print(f"  {label}: {n} tickets in {seconds:.1f} s = {phase.rate:.1f}/s, {len(errors)} errors", flush=True)
    for e in errors[:3]:
        print(f"    error: {e}", flush=True)
    await asyncio.sleep(2)  # the anchoring batch (2 s time bound) and stray tasks finish between slices
    return phase


async def interleaved(runs: Sequence[tuple[str, Callable[[str], Lifecycle]]], n: int, concurrency: int,
                      rounds: int, procs: Processes) -> list[Phase]:
    """Each run does ``n`` tickets in ``rounds`` slices, the runs taking turns (order rotated every round),
    so load from outside the benchmark (a shared machine) falls on all of them alike."""
    merged: dict[str, Phase] = {}
    for r in range(rounds):
        size = n // rounds + (1 if r < n % rounds else 0)
        for k in range(len(runs)):
            label, factory = runs[(r + k) % len(runs)]
            phase = await measure(f"{label} (round {r + 1})", size, concurrency, factory(f"{label[:1]}{k}r{r}"),
                                  procs)
            phase.label = label
            if label in merged:
                merged[label].add(phase)
            else:
                merged[label] = phase
    return [merged[label] for label, _ in runs]


async def peak_memory(stack: Stack, http: aiohttp.ClientSession, count: int, concurrency: int,
                      run: str) -> tuple[int, int, float]:
    """Opens ``count`` tickets and leaves them open; worker RSS before and at peak (sampled every 100 ms)."""
    pid = stack.procs["worker"].pid
    before = rss(pid)
    peak = before
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss(pid))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    seconds, _, errors = await drive(count, concurrency, our_lifecycle(http, run, open_only=True))
    await asyncio.sleep(3)  # the opened tickets' first tasks and the anchoring batch settle
    stop.set()
    await sampler
    if errors:
        raise RuntimeError(f"{len(errors)} tickets failed to open: {errors[0]}")
    return before, peak, seconds


# ---------------------------------------------------------------------- report


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def latency_table(title: str, ours: Phase, base: Phase) -> str:
    rows = []
    for c in CALLS:
        o, b = ours.latencies[c], base.latencies[c]
        rows.append((c, fmt_ms(pct(o, .5)), fmt_ms(pct(o, .95)), fmt_ms(pct(o, .99)),
                     fmt_ms(pct(b, .5)), fmt_ms(pct(b, .95)), fmt_ms(pct(b, .99)),
                     f"{pct(o, .5) / pct(b, .5):.2f}"))
    return table(title, ("call", "ours p50 ms", "ours p95 ms", "ours p99 ms", "baseline p50 ms", "baseline p95 ms",
                         "baseline p99 ms", "p50 ours/baseline"), rows)


def cpu_table(phases: Sequence[Phase]) -> str:
    names = ["bench", "api", "worker", "worker-2", "baseline-worker", "baseline-worker-2", "temporal", "anvil"]
    names = [n for n in names if any(p.cpu.get(n, 0.0) > 0.05 for p in phases)]
    rows = []
    for p in phases:
        total = sum(p.cpu.values())
        rows.append((p.label, *(f"{p.cpu.get(n, 0.0) / p.tickets * 1000:.0f}" for n in names),
                     f"{total / p.tickets * 1000:.0f}", f"{total / p.seconds:.2f}"))
    return table("CPU ms per ticket by process (where the time goes; bench = the load generator)",
                 ("phase", *names, "total", "cores busy"), rows)


# ---------------------------------------------------------------------- main


async def bench(stack: Stack, args: argparse.Namespace) -> str:
    run = uuid.uuid4().hex[:8]
    procs = Processes()
    procs.watch("bench", os.getpid(), children=False)  # the stack's processes are its children
    procs.watch("temporal", stack.procs["temporal"].pid)
    procs.watch("api", stack.procs["api"].pid)
    procs.watch("worker", stack.procs["worker"].pid)
    if stack.anvil is not None:
        procs.watch("anvil", stack.anvil.pid)
    task_queue = f"bench-baseline-{run}"
    baseline_workers = [start_baseline_worker(stack, "baseline-worker", task_queue)]
    procs.watch("baseline-worker", baseline_workers[0].pid)
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    n, c = args.tickets, args.concurrency
    # Keep-alive below uvicorn's 5 s, or a pooled connection the server just closed fails a POST.
    connector = aiohttp.TCPConnector(limit=c, keepalive_timeout=2)
    try:
        async with aiohttp.ClientSession(base_url=stack.config.api_url, connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=120)) as http:
            print(f"warm-up: {args.warmup} tickets each way", flush=True)
            await drive(args.warmup, c, our_lifecycle(http, f"{run}w"))
            await drive(args.warmup, c, baseline_lifecycle(client, task_queue, f"{run}w", queries=True))

            print(f"1 worker, {n} tickets, concurrency {c}", flush=True)
            ours1, base1, baseq1 = await interleaved([
                ("ours, 1 worker", lambda tag: our_lifecycle(http, f"{run}{tag}")),
                ("baseline, 1 worker",
                 lambda tag: baseline_lifecycle(client, task_queue, f"{run}{tag}", queries=False)),
                ("baseline + API's queries, 1 worker",
                 lambda tag: baseline_lifecycle(client, task_queue, f"{run}{tag}", queries=True)),
            ], n, c, args.rounds, procs)

            ours2 = base2 = None
            if not args.no_scaling:
                ours2, base2 = await scaling(stack, http, client, task_queue, baseline_workers, procs, args, run)
            memory = None
            if not args.no_memory:
                memory = await fresh_worker_memory(stack, http, baseline_workers, args, run)
    finally:
        for proc in baseline_workers:
            proc.terminate()
            proc.wait(timeout=20)
    return report(args, ours1, base1, baseq1, ours2, base2, memory)


async def scaling(stack: Stack, http: aiohttp.ClientSession, client: Client, task_queue: str,
                  baseline_workers: list[subprocess.Popen[bytes]], procs: Processes, args: argparse.Namespace,
                  run: str) -> tuple[Phase, Phase]:
    n, c = args.tickets, args.concurrency
    print("2 workers", flush=True)
    stack.start_worker("worker-2")
    procs.watch("worker-2", stack.procs["worker-2"].pid)
    baseline_workers.append(start_baseline_worker(stack, "baseline-worker-2", task_queue))
    procs.watch("baseline-worker-2", baseline_workers[1].pid)
    await drive(args.warmup, c, our_lifecycle(http, f"{run}w2"))
    ours2, base2 = await interleaved([
        ("ours, 2 workers", lambda tag: our_lifecycle(http, f"{run}2{tag}")),
        ("baseline, 2 workers", lambda tag: baseline_lifecycle(client, task_queue, f"{run}2{tag}", queries=False)),
    ], n, c, args.rounds, procs)
    return ours2, base2


async def fresh_worker_memory(stack: Stack, http: aiohttp.ClientSession,
                              baseline_workers: list[subprocess.Popen[bytes]], args: argparse.Namespace,
                              run: str) -> tuple[int, int, float]:
    # Memory on a fresh worker alone, so earlier phases' heap does not hide the growth.
    print(f"memory: fresh worker, {args.open} tickets left open", flush=True)
    for proc in baseline_workers:
        proc.terminate()
        proc.wait(timeout=20)
    baseline_workers.clear()
    for name in [n for n in stack.procs if n.startswith("worker")]:
        stop_our_worker(stack, name)
    stack.start_worker("worker")
    await drive(args.warmup, args.concurrency, our_lifecycle(http, f"{run}w3"))  # imports and caches loaded
    await asyncio.sleep(2.5)
    return await peak_memory(stack, http, args.open, args.concurrency, f"{run}m")


def report(args: argparse.Namespace, ours1: Phase, base1: Phase, baseq1: Phase, ours2: Phase | None,
           base2: Phase | None, memory: tuple[int, int, float] | None) -> str:
    n, c = args.tickets, args.concurrency
    out = [f"Machine: {psutil.cpu_count()} CPUs ({psutil.cpu_count(logical=False)} physical), "
           f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {sys.version.split()[0]}; "
           f"{n} tickets per row, at most {c} in flight.\n"]
    rows = []
    pairs = [(ours1, base1)] + ([(ours2, base2)] if ours2 and base2 else [])
    for ours, base in pairs:
        rows.append((ours.label, ours.tickets, len(ours.errors), f"{ours.seconds:.1f}", f"{ours.rate:.1f}",
                     f"{ours.rate / base.rate:.2f}"))
        rows.append((base.label, base.tickets, len(base.errors), f"{base.seconds:.1f}", f"{base.rate:.1f}", "1.00"))
        if ours is ours1:
            rows.append((baseq1.label, baseq1.tickets, len(baseq1.errors), f"{baseq1.seconds:.1f}",
                         f"{baseq1.rate:.1f}", f"{baseq1.rate / base1.rate:.2f}"))
    out.append(table("Lifecycles per second (create, respond, resolve, confirm)",
                     ("run", "tickets", "errors", "wall s", "tickets/s", "ratio to baseline (same workers)"), rows))
    out.append(latency_table("Latency per call, 1 worker (ours: HTTP round trip; baseline: Temporal client call)",
                             ours1, base1))
    out.append(latency_table("Latency per call, baseline + the API's queries (query counted in create and confirm)",
                             ours1, baseq1))
    phases = [ours1, base1, baseq1]
    if ours2 and base2:
        phases += [ours2, base2]
        out.append(latency_table("Latency per call, 2 workers", ours2, base2))
        cores = psutil.cpu_count() or 0
        out.append(table(f"Scaling from 1 to 2 worker processes (this machine has {cores} cores, shared by every "
                         "process of the stack and by the load generator, so a second worker has little spare CPU)",
                         ("run", "1 worker tickets/s", "2 workers tickets/s", "2 / 1"),
                         [("ours", f"{ours1.rate:.1f}", f"{ours2.rate:.1f}", f"{ours2.rate / ours1.rate:.2f}"),
                          ("baseline", f"{base1.rate:.1f}", f"{base2.rate:.1f}", f"{base2.rate / base1.rate:.2f}")]))
    out.append(cpu_table(phases))
    if memory:
        before, peak, open_seconds = memory
        mib = (peak - before) / 2**20
        out.append(table("Worker memory with open tickets (one fresh worker process, RSS incl. children)",
                         ("open tickets", "opened in s", "RSS before MiB", "RSS peak MiB", "growth MiB",
                          "MiB per 1,000 open tickets"),
                         [(args.open, f"{open_seconds:.1f}", f"{before / 2**20:.0f}", f"{peak / 2**20:.0f}",
                           f"{mib:.0f}", f"{mib / args.open * 1000:.1f}")]))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=500, help="lifecycles per measured run")
    parser.add_argument("--concurrency", type=int, default=32, help="tickets in flight at once")
    parser.add_argument("--open", type=int, default=1000, help="tickets left open for the memory figure")
    parser.add_argument("--warmup", type=int, default=32, help="lifecycles before measuring (not counted)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="slices each run is cut into, runs taking turns (evens out load from outside)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 2-worker runs")
    parser.add_argument("--no-memory", action="store_true", help="skip the open-tickets memory figure")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, databases)")
    parser.add_argument("--baseline-worker", default="", help=argparse.SUPPRESS)  # internal: worker process
    args = parser.parse_args(argv)
    if args.baseline_worker:
        run_baseline_worker(args.baseline_worker)
        return 0

    started = time.monotonic()
    with temporary_stack("qualitrail-lifecycle-", keep=args.keep) as stack:
        report = asyncio.run(bench(stack, args))
    print()
    print(report, flush=True)
    print(f"Wall time of the whole run: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    status = main()
    # Skip interpreter teardown: the Temporal core can abort at exit (sdk-python #300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
