"""`make test`: the suite as two pytest processes side by side, one per lane.

Why: most of the suite waits on servers (Temporal timers, Anvil blocks, a browser), so one process
leaves the second core idle. Lane ``stack`` holds every test on the session's shared stack (it
starts once); lane ``rest`` everything else (time-skipping servers, Anvil, stacks of their own).
Which lane a test is in follows from its fixtures (tests/conftest.py), so a new test needs no list.
Each lane's output is printed whole once it ends; the exit status is the worst of the two.

    python -m tests.lanes [pytest arguments ...]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

LANES = ("stack", "rest")
NO_TESTS = 5  # pytest's exit status when a lane has nothing to run (e.g. one file was selected)


def main(args: list[str]) -> int:
    logs = Path(tempfile.mkdtemp(prefix="qt-lanes-"))
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for lane in LANES:
        log = logs / f"{lane}.log"
        with open(log, "wb") as out:
            cmd = [sys.executable, "-m", "pytest", "--lane", lane, "--basetemp", str(logs / f"tmp-{lane}"), *args]
            runs[lane] = (subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT), log)
    print(f"lanes {', '.join(LANES)} started; their output is in {logs}", flush=True)
    start, codes = time.monotonic(), {}
    while len(codes) < len(runs):
        time.sleep(1)
        for lane, (proc, log) in runs.items():
            if lane not in codes and proc.poll() is not None:
                codes[lane] = proc.returncode
                print(f"\n===== lane {lane}: exit {proc.returncode} after {time.monotonic() - start:.0f} s =====",
                      flush=True)
                sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
                sys.stdout.flush()
    print(f"\n===== lanes: {codes}; {time.monotonic() - start:.0f} s in all =====", flush=True)
    ran = [code for code in codes.values() if code != NO_TESTS]
    failed = [code for code in ran if code != 0]
    if failed:
        return failed[0] if failed[0] > 0 else 1  # a lane killed by a signal fails the run too
    return 0 if ran else NO_TESTS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
