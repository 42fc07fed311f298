"""Summarise a mutmut run per module: ``.venv/bin/python bench/mutation_report.py`` (after ``make mutate``).

Reads ``mutmut results --all true`` (one ``name: status`` line per mutant) and prints a Markdown
table of mutants killed, survived, timed out and not reached per module, with the score (killed or
timed out, over all mutants), then the surviving mutants' names (``mutmut show NAME`` shows one).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLED = {"killed", "timeout"}  # a mutant that makes a test hang is caught too


def module_of(mutant: str) -> str:
    # e.g. "domain.sla_clock.xǁSlaClockǁpause__mutmut_3" or "domain.merkle.x_hash_pair__mutmut_1"
    parts = mutant.split(".")
    return "/".join(parts[:2]) + ".py"


def main() -> int:
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "mutmut"), "results", "--all", "true"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name or "__mutmut_" not in name:
            continue
        module = module_of(name)
        counts[module][status] += 1
        if status not in KILLED:
            survivors[module].append(f"{name} ({status})")
    print("| module | mutants | killed | survived | timeout | other | score |")
    print("|--------|--------:|-------:|---------:|--------:|------:|------:|")
    total, caught = 0, 0
    for module in sorted(counts):
        c = counts[module]
        n = sum(c.values())
        k = c["killed"] + c["timeout"]
        other = n - k - c["survived"]
        total, caught = total + n, caught + k
        print(f"| {module} | {n} | {c['killed']} | {c['survived']} | {c['timeout']} | {other} | {100 * k / n:.1f} % |")
    if total:
        print(f"| all | {total} | | | | | {100 * caught / total:.1f} % |")
    for module in sorted(survivors):
        print(f"\n{module}: {len(survivors[module])} not killed")
        for name in survivors[module]:
            print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
