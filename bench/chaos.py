"""Chaos run: tickets in flight while the worker, the API, Anvil and Temporal are SIGKILLed.

Run: ``.venv/bin/python bench/chaos.py`` (about 3.5 minutes; ``--help`` for the knobs). Exit status 0
when every invariant holds, 1 with the ticket ids of each violation otherwise.

It starts the whole stack (``cli.stack.Stack``: Temporal dev server on a SQLite file, Anvil with a
state file, contracts, one worker, the API) on free ports with ``config/chaos-policy.toml``: P1
tickets breach their 15 s first-response target on purpose, P3 targets are hours away. Desk clients
drive every ticket over HTTP (create → respond → resolve → customer confirm), retrying through
outages the way a real client would: a retried create is idempotent on ``ticket_id``, and a 409 on
a retried command is accepted only if the ticket's state shows the command took effect.

Meanwhile one component at a time is SIGKILLed at a random moment, stays down for a moment, and is
restarted the way an operator would: the worker and the API as new processes, Anvil from its
``--state`` file (losing what it had not written yet, like a node restored from a backup) and the
Temporal dev server on its ``--db-filename``.

Then it waits for the system to settle and checks, printing each invariant:
1. every created ticket exists, is closed and confirmed, each step happened exactly once (a retried
   command never applies twice), and its workflow has completed (none stuck);
2. every P1 ticket has exactly one first-response breach and exactly one voucher on chain; no P3
   ticket breached or got a voucher; the chain holds no other voucher;
3. every milestone of every ticket is in an anchored batch, each batch is anchored exactly once on
   chain with the root of its leaves, and each ticket's certificate verifies against the chain;
4. no duplicate rows (milestones per ticket and sequence, vouchers per claim, tickets);
5. every workflow replays its own history: the worker logged no nondeterminism.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/chaos.py` from a clean clone
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlmodel import col, func, select  # noqa: E402
from temporalio.client import Client, WorkflowExecutionStatus  # noqa: E402

from certificates.verify import verify_certificate  # noqa: E402
from chain.context import ChainContext  # noqa: E402
from chain.rpc import connect  # noqa: E402
from cli.stack import Stack, StackConfig  # noqa: E402
from domain.evidence_types import batch_id_for, claim_hash  # noqa: E402
from domain.merkle import build_tree  # noqa: E402
from domain.milestones import tree_leaf  # noqa: E402
from readmodel.db import session_scope  # noqa: E402
from readmodel.models import AnchorBatch, Milestone, Ticket, Voucher  # noqa: E402
from settings import Settings  # noqa: E402

COMPONENTS = ("worker", "api", "anvil", "temporal")
AGENT = {"X-API-Key": "dev-agent"}
# Breaching tickets are answered this long after creation: well past the 15 s P1 target.
LATE_RESPONSE_SECONDS = 22.0


@dataclass
class Plan:
    ticket_id: str
    breach: bool

    @property
    def priority(self) -> str:
        return "P1" if self.breach else "P3"


@dataclass
class Kill:
    component: str
    at: float  # seconds since the run started
    down: float
    restart_seconds: float


@dataclass
class Invariant:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def fail(self, ticket_id: str, why: str) -> None:
        self.violations.append(f"{ticket_id}: {why}")


@dataclass
class ChaosResult:
    plans: list[Plan]
    kills: list[Kill]
    invariants: list[Invariant]
    client_errors: Counter[str]
    drive_seconds: float
    settle_seconds: float
    reanchored: int  # batches the chain lost with Anvil's unsaved blocks, put back by reconcile

    @property
    def ok(self) -> bool:
        return all(not i.violations for i in self.invariants)


# ------------------------------------------------------------------ desk clients


class Desk:
    """HTTP calls that retry through outages; the run's clock is the deadline for each one."""

    def __init__(self, client: httpx.AsyncClient, deadline: float) -> None:
        self.client = client
        self.deadline = deadline
        self.errors: Counter[str] = Counter()

    async def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None,
                   took_effect: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        delay = 0.2
        while True:
            try:
                response = await self.client.request(method, path, json=body, headers=headers or AGENT)
                if response.status_code < 300:
                    data: dict[str, Any] = response.json()
                    return data
                if response.status_code == 409 and took_effect is not None:
                    # A retry of a command the server applied before we lost its answer.
                    state = await self.call("GET", path.rsplit("/", 1)[0])
                    if took_effect(state):
                        self.errors["409 after an applied command"] += 1
                        return state
                if response.status_code not in (502, 503, 504):
                    raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
                self.errors[f"HTTP {response.status_code}"] += 1
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                self.errors[type(exc).__name__] += 1
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"{method} {path}: no answer before the run's deadline")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 3.0)


async def drive(desk: Desk, plan: Plan, rng: random.Random) -> None:
    tid = plan.ticket_id
    body = {"ticket_id": tid, "customer_ref": f"chaos-customer-{tid}", "channel": "app",
            "category": "after_sales", "priority": plan.priority, "team": "after-sales",
            "summary": "Card payment declined twice"}
    created = await desk.call("POST", "/tickets", body=body)
    token = created["customer_token"]
    started = time.monotonic()
    if plan.breach:
        await asyncio.sleep(LATE_RESPONSE_SECONDS)
    await asyncio.sleep(rng.uniform(0, 3))
    await desk.call("POST", f"/tickets/{tid}/respond", body={"message": "Looking into it"},
                    took_effect=lambda s: s["status"] != "open")
    await asyncio.sleep(rng.uniform(0, 3))
    await desk.call("POST", f"/tickets/{tid}/resolve",
                    body={"resolution_code": "refunded", "root_cause": "gateway-timeout"},
                    took_effect=lambda s: s["status"] in ("resolved", "closed"))
    await asyncio.sleep(rng.uniform(0, 3))
    if plan.breach and time.monotonic() - started < LATE_RESPONSE_SECONDS:
        raise AssertionError(f"{tid} was answered too early to breach")
    await desk.call("POST", f"/tickets/{tid}/confirm", body={"rating": 4},
                    headers={"X-Customer-Token": token},
                    took_effect=lambda s: s["status"] == "closed" and s["rating"] is not None)


# ------------------------------------------------------------------ the monkey


def _restart(stack: Stack, name: str) -> None:
    if name == "worker":
        stack.start_worker()
    elif name == "api":
        stack.start_api()
    elif name == "anvil":
        stack.start_anvil()  # same port, from the --state file
    else:
        stack.start_temporal()  # same port, on the same --db-filename


async def monkey(stack: Stack, rng: random.Random, rounds: int, t0: float, stop: asyncio.Event,
                 window: tuple[float, float]) -> list[Kill]:
    """SIGKILL one component at a time at random moments inside ``window`` (seconds from t0)."""
    order = [c for _ in range(rounds) for c in rng.sample(COMPONENTS, len(COMPONENTS))]
    start, end = window
    moments = sorted(rng.uniform(start, end) for _ in order)
    kills: list[Kill] = []
    for name, moment in zip(order, moments, strict=True):
        wait = moment - (time.monotonic() - t0)
        if wait > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
                break  # every ticket is done: no more kills
            except TimeoutError:
                pass
        at = time.monotonic() - t0
        stack.kill(name)
        down = rng.uniform(0.5, 4.0)
        await asyncio.sleep(down)
        began = time.monotonic()
        await asyncio.to_thread(_restart, stack, name)
        kills.append(Kill(name, at, down, time.monotonic() - began))
        print(f"  t={at:6.1f}s  SIGKILL {name:<8} down {down:.1f}s, back after {kills[-1].restart_seconds:.1f}s",
              flush=True)
    return kills


# ------------------------------------------------------------------ invariants


async def _workflow_statuses(stack: Stack, plans: list[Plan]) -> dict[str, WorkflowExecutionStatus | None]:
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    result: dict[str, WorkflowExecutionStatus | None] = {}
    for plan in plans:
        result[plan.ticket_id] = (await client.get_workflow_handle(plan.ticket_id).describe()).status
    return result


async def settle(stack: Stack, plans: list[Plan], within: float) -> None:
    """Wait until every ticket workflow completed and every breach has its voucher recorded."""
    deadline = time.monotonic() + within
    pending = list(plans)
    while pending and time.monotonic() < deadline:
        statuses = await _workflow_statuses(stack, pending)
        pending = [p for p in pending if statuses[p.ticket_id] != WorkflowExecutionStatus.COMPLETED]
        if not pending:
            break
        await asyncio.sleep(2)
    # Anchors and vouchers lost with Anvil's unsaved blocks come back through the anchoring
    # workflow's reconcile; wait for the chain to agree with the read model.
    while time.monotonic() < deadline:
        if not _chain_gaps(stack, plans):
            return
        await asyncio.sleep(2)


def _chain(stack: Stack) -> ChainContext:
    return ChainContext(Settings(var_dir=stack.config.var_dir, rpc_url=stack.config.rpc_url), deploy=False)


def _chain_gaps(stack: Stack, plans: list[Plan]) -> int:
    """Milestones not yet anchored, anchors missing on chain, and breaches still without a voucher."""
    chain = _chain(stack)
    issuer, registry = chain.voucher_reader(), chain.registry_reader()
    gaps = sum(1 for p in plans
               if p.breach and not issuer.voucher_of_claim(claim_hash(f"{p.ticket_id}:first_response")))
    with session_scope(_db_url(stack)) as session:
        batches = {b.batch_no: b for b in session.exec(select(AnchorBatch)).all()}
        unanchored = session.exec(select(func.count()).select_from(Milestone).where(
            col(Milestone.subject).in_([p.ticket_id for p in plans]),
            col(Milestone.batch_no).is_(None) | col(Milestone.batch_no).not_in(
                [n for n, b in batches.items() if b.status == "anchored"]))).one()
    gaps += int(unanchored)
    gaps += sum(1 for b in batches.values()
                if b.status != "anchored" or not registry.anchor_info(bytes.fromhex(b.root[2:])))
    return gaps


def _db_url(stack: Stack) -> str:
    return Settings(var_dir=stack.config.var_dir).db_url


def _expected_kinds(plan: Plan) -> Counter[str]:
    kinds = Counter(["opened", "first_response", "resolved", "confirmed"])
    if plan.breach:  # warnings at 50 % and 80 %, then the breach and its voucher
        kinds.update(["sla_warning", "sla_warning", "sla_breach", "voucher_issued"])
    return kinds


def check(stack: Stack, plans: list[Plan], api: httpx.Client,
          statuses: dict[str, WorkflowExecutionStatus | None]) -> list[Invariant]:
    final = Invariant("every ticket closed, each step once, workflow completed (none stuck)")
    vouchers = Invariant("each breach exactly one voucher on chain, no other voucher")
    anchored = Invariant("every milestone anchored exactly once; certificates verify on chain")
    unique = Invariant("no duplicate rows")
    replays = Invariant("every workflow replays its own history (no nondeterminism)")
    chain = _chain(stack)
    w3 = connect(stack.config.rpc_url)
    deployment = chain.deployment()

    def events(contract: Any, name: str) -> list[Any]:
        return list(getattr(contract.events, name).get_logs(from_block=deployment.block_number, to_block="latest"))

    ids = [p.ticket_id for p in plans]
    with session_scope(_db_url(stack)) as session:
        milestones = session.exec(select(Milestone).where(col(Milestone.subject).in_(ids))).all()
        batches = {b.batch_no: b for b in session.exec(select(AnchorBatch)).all()}
        leaves_of: dict[int, list[bytes]] = {}
        for m in session.exec(select(Milestone).where(col(Milestone.batch_no).is_not(None))).all():
            batch_format = batches[m.batch_no].format if m.batch_no in batches else 1
            leaves_of.setdefault(int(m.batch_no or 0), []).append(
                tree_leaf(bytes.fromhex(m.leaf[2:]), m.kind, batch_format))
        duplicates = {
            "milestone (subject, seq)": session.exec(
                select(Milestone.subject, Milestone.seq).group_by(col(Milestone.subject), col(Milestone.seq))
                .having(func.count() > 1)).all(),
            "milestone leaf": session.exec(
                select(Milestone.leaf).group_by(col(Milestone.leaf)).having(func.count() > 1)).all(),
            "voucher claim": session.exec(
                select(Voucher.claim_id).group_by(col(Voucher.claim_id)).having(func.count() > 1)).all(),
            "voucher id": session.exec(
                select(Voucher.voucher_id).group_by(col(Voucher.voucher_id)).having(func.count() > 1)).all(),
            "ticket": session.exec(select(Ticket.id).group_by(col(Ticket.id)).having(func.count() > 1)).all(),
        }
        ticket_rows = {t for t in session.exec(select(Ticket.id).where(col(Ticket.id).in_(ids))).all()}
    # The chain is read after the read model: anything recorded above is on chain by now.
    issued_per_claim = Counter("0x" + bytes(e["args"]["claimId"]).hex()
                               for e in events(chain.voucher_reader().contract, "VoucherIssued"))
    anchors = events(chain.registry_reader().contract, "RootAnchored")
    anchors_per_batch = Counter("0x" + bytes(e["args"]["batchId"]).hex() for e in anchors)
    root_of_batch = {"0x" + bytes(e["args"]["batchId"]).hex(): "0x" + bytes(e["args"]["root"]).hex()
                     for e in anchors}
    breach_claims: set[str] = set()
    for plan in plans:
        tid = plan.ticket_id
        final.checked += 1
        if statuses.get(tid) != WorkflowExecutionStatus.COMPLETED:
            final.fail(tid, f"workflow is {statuses.get(tid)}")
        response = api.get(f"/tickets/{tid}", headers=AGENT)
        if response.status_code != 200:
            final.fail(tid, f"GET answered {response.status_code}")
            continue
        view = response.json()
        if view["status"] != "closed" or view["rating"] is None:
            final.fail(tid, f"status {view['status']}, rating {view['rating']}")
        kinds = Counter(m["kind"] for m in view["milestones"])
        if kinds != _expected_kinds(plan):
            # A command retried through an outage must take effect once, not twice.
            final.fail(tid, f"milestones {dict(kinds)}, expected {dict(_expected_kinds(plan))}")

        vouchers.checked += 1
        claim = "0x" + claim_hash(f"{tid}:first_response").hex()
        if plan.breach:
            breach_claims.add(claim)
            if view["breaches"] != ["first_response"]:
                vouchers.fail(tid, f"breaches {view['breaches']}, expected exactly one first_response")
            if issued_per_claim[claim] != 1:
                vouchers.fail(tid, f"{issued_per_claim[claim]} VoucherIssued events for its breach")
            if len(view["vouchers"]) != 1:
                vouchers.fail(tid, f"{len(view['vouchers'])} vouchers in its state")
        elif view["breaches"] or view["vouchers"]:
            vouchers.fail(tid, f"P3 ticket breached {view['breaches']} / vouchers {view['vouchers']}")

        anchored.checked += 1
        cert = api.get(f"/tickets/{tid}/certificate", headers=AGENT)
        if cert.status_code != 200:
            anchored.fail(tid, f"certificate answered {cert.status_code}: {cert.text[:200]}")
        else:
            failed = [c for c in verify_certificate(cert.json(), w3=w3) if c.failed]
            if failed:
                anchored.fail(tid, "certificate: " + "; ".join(f"{c.name}: {c.summary}" for c in failed))
    for claim, count in issued_per_claim.items():
        if claim not in breach_claims:
            vouchers.fail(claim, f"{count} voucher(s) on chain for a claim no breach made")

    for what, rows in duplicates.items():
        unique.checked += 1
        for row in rows:
            unique.fail(str(row), f"duplicate {what}")
    for tid in ids:
        unique.checked += 1
        if tid not in ticket_rows:
            unique.fail(tid, "no ticket row in the read model")

    for m in milestones:
        batch = batches.get(m.batch_no) if m.batch_no is not None else None
        if batch is None or batch.status != "anchored":
            anchored.fail(m.subject, f"milestone {m.seq} ({m.kind}) is not in an anchored batch")
    for batch in batches.values():
        bid = batch_id_for(batch.batch_no)
        key = "0x" + bid.hex()
        if anchors_per_batch[key] != 1:
            anchored.fail(f"batch {batch.batch_no}", f"anchored {anchors_per_batch[key]} times on chain")
        elif root_of_batch[key] != batch.root:
            anchored.fail(f"batch {batch.batch_no}", "root on chain differs from the read model's")
        leaves = leaves_of.get(batch.batch_no, [])
        if not leaves or "0x" + build_tree(leaves).root.hex() != batch.root:
            anchored.fail(f"batch {batch.batch_no}", "root is not the Merkle root of its leaves")
    # The reads above replayed every completed ticket (a query on a closed workflow replays it);
    # the worker logs any history its code cannot replay, with the run id.
    for log in sorted(stack.logs.glob("worker*.log")):
        replays.checked += 1
        for line in log.read_text(errors="replace").splitlines():
            if "Nondeterminism" in line:
                run_id = re.search(r"run_id\S*?=\S*?([0-9a-f-]{36})", line)
                replays.fail(run_id.group(1) if run_id else log.name, line[:200])
    return [final, vouchers, anchored, unique, replays]


# ------------------------------------------------------------------ the run


async def run_chaos(var_dir: Path, *, tickets: int = 300, breach_share: float = 0.3, rounds: int = 2,
                    seed: int | None = None, ramp_seconds: float = 60.0, concurrency: int = 48,
                    settle_timeout: float = 300.0, extra_env: dict[str, str] | None = None,
                    kill_window: tuple[float, float] | None = None) -> ChaosResult:
    """Drive ``tickets`` tickets through the API while components are killed; check the invariants.

    Kills fall at random moments inside ``kill_window`` (seconds from the start; by default from 3 s
    to 20 s after the last ticket is created). A window that ends before the last ticket is created
    guarantees every kill happens: the monkey stops early only once every ticket is done.
    """
    seed = random.randrange(2**32) if seed is None else seed
    rng = random.Random(seed)
    print(f"chaos run: {tickets} tickets, {rounds} kill round(s), seed {seed}, stack in {var_dir}", flush=True)
    plans = [Plan(f"CHAOS-{seed:08x}-{i:04d}", rng.random() < breach_share) for i in range(tickets)]
    config = StackConfig.ephemeral(var_dir, policy_file=ROOT / "config" / "chaos-policy.toml",
                                   extra_env=dict(extra_env or {}))
    stack = Stack(config).start()
    try:
        t0 = time.monotonic()
        limit = asyncio.Semaphore(concurrency)
        stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=config.api_url, timeout=30) as client:
            desk = Desk(client, deadline=t0 + ramp_seconds + settle_timeout)

            async def one(i: int, plan: Plan) -> None:
                await asyncio.sleep(i * ramp_seconds / max(tickets, 1))
                async with limit:
                    await drive(desk, plan, random.Random(f"{seed}-{i}"))

            drivers = asyncio.gather(*(one(i, p) for i, p in enumerate(plans)))
            window = kill_window or (3.0, ramp_seconds + 20)
            chaos = asyncio.create_task(monkey(stack, rng, rounds, t0, stop, window))
            try:
                await drivers
            finally:
                stop.set()
                kills = await chaos
        drive_seconds = time.monotonic() - t0
        print(f"all {tickets} tickets driven in {drive_seconds:.0f}s; settling", flush=True)
        with httpx.Client(base_url=config.api_url, timeout=60) as api:
            began = time.monotonic()
            await settle(stack, plans, settle_timeout)
            settle_seconds = time.monotonic() - began
            statuses = await _workflow_statuses(stack, plans)
            invariants = check(stack, plans, api, statuses)
        with session_scope(_db_url(stack)) as session:
            reanchored = int(session.exec(select(func.sum(AnchorBatch.reanchor_count))).one() or 0)
        return ChaosResult(plans, kills, invariants, desk.errors, drive_seconds, settle_seconds, reanchored)
    finally:
        stack.stop()


def report(result: ChaosResult) -> str:
    breaches = sum(p.breach for p in result.plans)
    lines = [
        f"tickets: {len(result.plans)} ({breaches} P1 set to breach), driven in {result.drive_seconds:.0f} s, "
        f"settled in {result.settle_seconds:.0f} s; {result.reanchored} batch(es) lost by Anvil and re-anchored",
        "",
        "| t (s) | SIGKILL | down (s) | restart (s) |",
        "|------:|---------|---------:|------------:|",
        *(f"| {k.at:5.1f} | {k.component} | {k.down:.1f} | {k.restart_seconds:.1f} |" for k in result.kills),
        "",
        "| client saw | count |",
        "|------------|------:|",
        *(f"| {what} | {n} |" for what, n in sorted(result.client_errors.items())),
        "",
        "| invariant | checked | violations |",
        "|-----------|--------:|-----------:|",
        *(f"| {i.name} | {i.checked} | {len(i.violations)} |" for i in result.invariants),
    ]
    for inv in result.invariants:
        lines += [f"VIOLATION [{inv.name}] {v}" for v in inv.violations[:50]]
    lines.append("PASS: every invariant holds" if result.ok else "FAIL: see the violations above")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--breach-share", type=float, default=0.3, help="share of P1 tickets set to breach")
    parser.add_argument("--rounds", type=int, default=2, help="kills per component")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds over which tickets are created")
    parser.add_argument("--settle-timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) afterwards")
    args = parser.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="qualitrail-chaos-"))
    result = asyncio.run(run_chaos(var_dir, tickets=args.tickets, breach_share=args.breach_share,
                                   rounds=args.rounds, seed=args.seed, ramp_seconds=args.ramp,
                                   settle_timeout=args.settle_timeout))
    print(report(result))
    if not args.keep and result.ok:
        import shutil

        shutil.rmtree(var_dir, ignore_errors=True)
    else:
        print(f"stack folder kept: {var_dir}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    status = main()
    # Skip interpreter teardown: the Temporal core can abort at exit (sdk-python #300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

