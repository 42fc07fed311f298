"""`qualitrail twin ...`: test a policy change on the digital twin before it goes live (seed 3.1).

``twin history`` writes a seeded generated history (JSON lines: each ticket's life and what the
policy recorded of it). ``twin run --policy new.toml --scenarios 2000`` draws scenarios from a
history (or replays it as it was, ``--replay``), plays them through the real ``TicketWorkflow``
under the current policy and the new one on a time-skipping test server, and writes the report
(JSON, and HTML in Chinese and English) with a progress bar on the way.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from queue import Empty, Queue
from typing import TYPE_CHECKING, Any

import typer

from analysis.twin import HistoryTicket, Scenario, bootstrap, dump_history, generate_history, load_history
from analysis.twin_report import render_html, summarize
from domain.policy import Policy, PolicyError, load_policy
from domain.tickets import TicketPolicy

if TYPE_CHECKING:
    from cli.twin_run import TwinRun

# The run's timeline starts this far after the run does, plus a second per scenario run: a
# shard's server starts at the wall clock's time, so the last shard's must still be before it.
# Skipping the gap costs nothing.
SHARD_START_MARGIN = timedelta(minutes=30)

# Times a shard is played before its run fails, when a run of it gets stuck on the test server.
SHARD_ATTEMPTS = 3

# Allocations between collections of the youngest generation in a shard's process (default 700).
GC_THRESHOLD = 50_000

log = logging.getLogger(__name__)


class TwinShardFailed(Exception):
    """A shard failed in one of the twin's processes; the message has the error and its traceback."""


twin_app = typer.Typer(help="The digital twin: a policy change tried on replayed tickets.", no_args_is_help=True)


def policy_of(policy: Policy, year: int) -> Callable[[str, str], TicketPolicy]:
    """A ticket's policy slice from its category and team (cached: tickets share a few)."""

    @lru_cache(maxsize=256)
    def of(category: str, team: str) -> TicketPolicy:
        return policy.ticket_policy(category=category, team=team, year=year)

    return of


def twin_processes() -> int:
    """The twin's processes from the settings (0: one per CPU core and one more)."""
    from settings import get_settings

    return get_settings().twin_processes or (os.cpu_count() or 1) + 1


def twin_shard_scenarios() -> int:
    """How many scenarios one time-skipping server plays, from the settings."""
    from settings import get_settings

    return get_settings().twin_shard_scenarios


def _load(path: Path) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@twin_app.command("history")
def history(out: Path = typer.Option(..., help="JSON-lines file to write"),
            tickets: int = typer.Option(2000, min=1, max=1_000_000), seed: int = 1,
            days: int = typer.Option(28, min=1, max=3660),
            policy_file: Path | None = typer.Option(None, "--policy", help="the policy the history ran on")) -> None:
    """Write a seeded generated history under the current (or given) policy."""
    from settings import get_settings

    policy = _load(policy_file or get_settings().policy_file)
    made = generate_history(seed, tickets, policy_of(policy, datetime.now(UTC).year), days=days)
    out.write_text(dump_history(made), encoding="utf-8")
    breached = sum(bool(h.breaches) for h in made)
    typer.echo(f"{out}: {len(made)} tickets, {100 * breached / len(made):.2f} % with a breach")


@twin_app.command("run")
def run(policy_file: Path = typer.Option(..., "--policy", help="the policy to try"),
        scenarios: int = typer.Option(2000, min=1, max=100_000),
        history_file: Path | None = typer.Option(None, "--history", help="JSON lines from `twin history`; "
                                                 "default: a generated history of the current policy"),
        replay: bool = typer.Option(False, help="replay the history's tickets as they were, not drawn from it"),
        seed: int = 1, out: Path = typer.Option(Path("var/twin"), help="folder for the report")) -> None:
    """Predict breach rates, voucher cost and bottlenecks of a policy against the current one."""
    from rich.progress import Progress

    from settings import get_settings

    current = _load(get_settings().policy_file)
    new = _load(policy_file)
    year = datetime.now(UTC).year
    if history_file is not None:
        try:
            past = load_history(history_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"history {history_file}: {exc}", err=True)
            raise typer.Exit(2) from exc
    else:
        past = generate_history(seed, max(scenarios, 200), policy_of(current, year))
    played = [h.scenario for h in past] if replay else bootstrap(past, scenarios, seed)
    with Progress() as bar:
        task = bar.add_task("twin", total=len(played) * 2)
        report = asyncio.run(run_twin(played, {"current": current, "new": new}, year=year,
                                      progress=lambda done, total: bar.update(task, completed=done),
                                      history=past if replay else None, processes=twin_processes(),
                                      shard_scenarios=twin_shard_scenarios()))
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    for lang in ("en", "zh"):
        (out / f"report.{lang}.html").write_text(render_html(report, lang), encoding="utf-8")
    for label, p in report["policies"].items():
        b = p["breach_percent"]
        typer.echo(f"{label}: first response {b['first_response']} %, resolution {b['resolution']} %, "
                   f"vouchers {p['voucher_cost']['en']}, bottlenecks {len(p['bottlenecks'])}")
    typer.echo(f"report: {out / 'report.json'}, {out / 'report.en.html'}, {out / 'report.zh.html'}")


async def run_twin(scenarios: list[Scenario], policies: dict[str, Policy], *, year: int,
                   progress: Callable[[int, int], None] | None = None, baseline: str = "current",
                   history: list[HistoryTicket] | None = None, processes: int = 1,
                   shard_scenarios: int = 0, start: datetime | None = None) -> dict[str, Any]:
    """Plays ``scenarios`` under each policy and summarizes, in shards of at most
    ``shard_scenarios`` (0: one shard per process), each on a time-skipping server of its own, on
    ``processes`` processes.

    One Python process drives one server and runs its workflows, and that process, not the server,
    is what the twin waits on; so the shards are spread over several processes. A server's work for
    each clock skip grows with the workflows it has held, so many small shards cost less than a few
    big ones (docs/benchmarks.md). Each shard gets every n-th scenario, so covers the whole
    timeline, and all count from the same instant, ``start`` (default: far enough ahead that the
    last shard's server starts before it); so a scenario meets the same clocks in any shard.
    """
    began = time.monotonic()
    count = max(processes, -(-len(scenarios) // shard_scenarios) if shard_scenarios else 1)
    shards = [scenarios[i::count] for i in range(max(1, min(count, len(scenarios))))]
    start = start or (datetime.now(UTC).replace(second=0, microsecond=0) + SHARD_START_MARGIN
                      + timedelta(seconds=len(scenarios) * len(policies)))
    if processes <= 1:
        runs: list[TwinRun] = []
        for shard in shards:
            before = sum(len(r.played) for r in runs)
            report = None if progress is None else partial(_offset_progress, progress, before,
                                                           len(policies) * len(scenarios))
            runs.append(await _play_shard(shard, policies, year, start, baseline, report))
    else:
        runs = await _play_shards(shards, policies, year, start, baseline, progress, processes)
    played = [p for run in runs for p in run.played]
    seconds = time.monotonic() - began
    meta: dict[str, Any] = {"seconds": round(seconds, 1), "processes": max(1, min(processes, len(shards))),
                            "shards": len(shards),
                            "scenarios_per_second": round(len(played) / max(seconds, 1e-9), 2)}
    if history is not None:
        meta["recorded_breach_percent"] = round(100 * sum(bool(h.breaches) for h in history) / len(history), 2)
    return summarize(played, baseline=baseline, currency=policies[baseline].compensation.currency,
                     bottleneck_percent=policies[baseline].twin.bottleneck_breach_percent, meta=meta)


async def _play_shard(shard: list[Scenario], policies: dict[str, Policy], year: int, start: datetime,
                      baseline: str, progress: Callable[[int, int], None] | None) -> TwinRun:
    """Starts a time-skipping test server and plays ``shard`` under each policy on it; a shard
    with a run stuck on its server is played again, on a fresh one."""
    from cli.twin_run import TwinStuck

    for attempt in range(1, SHARD_ATTEMPTS + 1):
        try:
            return await _play_on_fresh_server(shard, policies, year, start, baseline, progress)
        except TwinStuck as exc:
            if attempt == SHARD_ATTEMPTS:
                raise
            log.warning("twin: %s; playing its shard again on a fresh server (attempt %d)", exc, attempt + 1)
    raise AssertionError("unreachable")


async def _play_on_fresh_server(shard: list[Scenario], policies: dict[str, Policy], year: int, start: datetime,
                                baseline: str, progress: Callable[[int, int], None] | None) -> TwinRun:
    from temporalio.testing import WorkflowEnvironment

    from cli.twin_run import play
    from cli.twin_sdk import TWIN_DATA_CONVERTER
    from temporal.runtime import twin_runtime

    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path, runtime=twin_runtime(),
                                                        data_converter=TWIN_DATA_CONVERTER)
    try:
        twin = policies[baseline].twin
        of = {label: policy_of(p, year) for label, p in policies.items()}
        return await play(env, shard, {label: _by_scenario(f) for label, f in of.items()}, start=start,
                          tick_seconds=twin.tick_seconds, concurrency=twin.concurrency, progress=progress)
    finally:
        await env.shutdown()


def _shard_process(shard: list[Scenario], policies: dict[str, Policy], year: int, start: datetime, baseline: str,
                   index: int, updates: Queue[tuple[int, int]]) -> TwinRun:
    """One shard, in one of the pool's processes; its progress goes to ``updates`` as (shard, done)."""
    # A shard makes and drops millions of small objects (payloads, protobufs, dataclasses), few of
    # them in cycles; collecting less often cut the run's CPU time by about a tenth (docs/benchmarks.md).
    gc.set_threshold(GC_THRESHOLD, 20, 20)
    from cli.twin_sdk import skip_idle_payload_visits

    skip_idle_payload_visits()
    try:
        return asyncio.run(_play_shard(shard, policies, year, start, baseline,
                                       lambda done, _total: updates.put((index, done))))
    except Exception as exc:
        # Sent back as text: many SDK errors cannot be unpickled in the parent (their __init__
        # takes other arguments than they pass on), and one that cannot breaks the whole pool.
        raise TwinShardFailed(f"shard {index}: {''.join(traceback.format_exception(exc)).strip()}") from None


async def _play_shards(shards: list[list[Scenario]], policies: dict[str, Policy], year: int, start: datetime,
                       baseline: str, progress: Callable[[int, int], None] | None, processes: int) -> list[TwinRun]:
    loop = asyncio.get_running_loop()
    # Forked from a server process that imported the twin's modules once: spawned, each process
    # imported them again (about 3 s of CPU each, the CLI's own modules another 2 s). Not forked
    # from this process: a fork of a process with the Temporal runtime's threads is not safe, and
    # the server has none (importing these modules starts no thread).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "cli.twin", "cli.twin_run", "cli.twin_sdk"])
    total = len(policies) * sum(map(len, shards))
    done = [0] * len(shards)
    with context.Manager() as manager, ProcessPoolExecutor(min(processes, len(shards)), mp_context=context) as pool:
        updates = manager.Queue()
        runs = asyncio.gather(*(loop.run_in_executor(pool, _shard_process, shard, policies, year, start, baseline,
                                                     i, updates) for i, shard in enumerate(shards)))
        while not runs.done():
            try:
                index, count = await loop.run_in_executor(None, partial(updates.get, timeout=0.5))
            except Empty:
                continue
            done[index] = count
            if progress is not None:
                progress(sum(done), total)
        return list(await runs)


def _offset_progress(progress: Callable[[int, int], None], before: int, total: int, done: int, _of: int) -> None:
    progress(before + done, total)


def _by_scenario(of: Callable[[str, str], TicketPolicy]) -> Callable[[Scenario], TicketPolicy]:
    return lambda s: of(s.category, s.team)
