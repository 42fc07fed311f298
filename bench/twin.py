"""Twin throughput and forecast time: `.venv/bin/python -m bench.twin [scenarios]` (default 2000).

Does what `qualitrail twin run --scenarios N` does: N scenarios drawn from a generated 28-day
history, played under the current policy and a stricter one (2N workflows) on the twin's
processes (`QT_TWIN_PROCESSES`, default one per core and one more) in shards of
`QT_TWIN_SHARD_SCENARIOS` (default 25) scenarios, each on a time-skipping server of its own;
against the same scenarios through the pure clock code alone (the same run's baseline). Then times
a 30-day forecast backtest of three series over almost three years with the seasonal-naive
forecast of the same series as its baseline.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from analysis.forecast import DayCalendar, backtest, planted_volumes
from analysis.twin import bootstrap, generate_history, recorded_outcome
from cli.twin import policy_of, run_twin, twin_processes, twin_shard_scenarios
from domain.policy import CalendarModel, load_policy, parse_policy
from settings import ROOT


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (user, nice, system, irq, softirq):
    the shard processes are the forkserver's children, so no rusage of this process sees them."""
    user, nice, system, _idle, _iowait, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def main(n: int) -> None:
    text = (ROOT / "config" / "policy.toml").read_text(encoding="utf-8")
    current = load_policy(ROOT / "config" / "policy.toml")
    strict = parse_policy(text.replace("first_response_minutes = 30", "first_response_minutes = 10"))
    year = datetime.now(UTC).year
    scenarios = bootstrap(generate_history(1, max(n, 200), policy_of(current, year)), n, seed=1)
    # Baseline of the same run: the same scenarios through the pure clock code alone (no Temporal).
    began = time.perf_counter()
    for policy in (current, strict):
        of = policy_of(policy, year)
        for s in scenarios:
            recorded_outcome(s, of(s.category, s.team), datetime(year, 11, 2, tzinfo=UTC))
    pure_s = time.perf_counter() - began
    began, busy = time.perf_counter(), machine_busy_seconds()
    processes, shard = twin_processes(), twin_shard_scenarios()
    report = asyncio.run(run_twin(scenarios, {"current": current, "strict": strict}, year=year, processes=processes,
                                  shard_scenarios=shard))
    twin_s, twin_cpu = time.perf_counter() - began, machine_busy_seconds() - busy

    spec = CalendarModel(holiday_region="CN").to_spec(range(2024, 2028))
    cal = DayCalendar(frozenset(map(date.fromisoformat, spec.holidays)),
                      frozenset(map(date.fromisoformat, spec.workdays)))
    start = date(2024, 1, 1)
    series = planted_volumes(3, start, (date(2026, 10, 20) - start).days, cal,
                             {("delivery", "app"): 120.0, ("billing", "web"): 40.0, ("complaint", "phone"): 15.0})
    began = time.perf_counter()
    result = backtest(series, start, cal)
    forecast_s = time.perf_counter() - began

    print("| what | value |\n| --- | --- |")
    print(f"| twin: scenarios x policies | {n} x 2 |")
    print(f"| twin: processes / shards (each on a test server of its own) | {processes} / {report['shards']} |")
    print(f"| twin: wall time | {twin_s:.1f} s |")
    print(f"| twin: CPU of the whole machine (all its cores, /proc/stat) during the run | {twin_cpu:.0f} s |")
    print(f"| twin: scenarios per second (both policies) | {2 * n / twin_s:.2f} |")
    print(f"| baseline: pure clock code, scenarios per second (both policies) | {2 * n / pure_s:.0f} |")
    print(f"| twin: {n:,} scenarios x 2 | {twin_s / 60:.1f} min |")
    for label, p in report["policies"].items():
        print(f"| twin: {label} breach % (first response / resolution) | "
              f"{p['breach_percent']['first_response']} / {p['breach_percent']['resolution']} |")
    days = len(series[("delivery", "app")])
    print(f"| forecast: fit + 30-day backtest, 3 series x {days} days | {forecast_s:.2f} s |")
    print(f"| forecast: MASE / seasonal-naive MASE (baseline) | {result.mase:.3f} / {result.naive_mase:.3f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
