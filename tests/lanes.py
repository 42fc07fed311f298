"""`make test`: the suite as groups of pytest processes, two at a time.

Why: most of the suite waits on servers (Temporal timers, Anvil blocks, a browser, a stack
starting), so one process leaves the second core idle (decision 026). Group ``stack`` holds every
test on the session's shared stack, so it starts once; which tests those are follows from their
fixtures (``--lane stack`` in tests/conftest.py). The other tests (``--lane rest``) are split by
folder into groups of about equal length; the last group takes every folder not named before, so
a new folder needs no entry. Two runners take groups from one queue, the first starting with
``stack``. Each group's output is printed whole when it ends; the run fails if any group fails.

    python -m tests.lanes [pytest options ...]
"""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

LANES = ("stack", "rest")
RUNNERS = 2
NO_TESTS = 5  # pytest's exit status when a group selects nothing
TESTS = Path(__file__).resolve().parent

# Folders of lane `rest` by group, longest first (from the durations of a whole run, docs/testing.md;
# `stack` is about as long as the first). None: every folder not named.
REST_GROUPS: tuple[tuple[str, ...] | None, ...] = (
    ("deploy", "api"),
    ("chaos", "observability", "certificates", "contracts", "evidence", "workflows"),
    None,
)


def groups() -> list[tuple[str, list[str]]]:
    """(name, pytest arguments) of every group, in the order they are taken."""
    named = [d for g in REST_GROUPS if g is not None for d in g]
    found: list[tuple[str, list[str]]] = [("stack", ["--lane", "stack"])]
    for n, folders in enumerate(REST_GROUPS, start=1):
        if folders is None:
            args = ["--lane", "rest", str(TESTS)] + [f"--ignore={TESTS / d}" for d in named]
        else:
            args = ["--lane", "rest"] + [str(TESTS / d) for d in folders]
        found.append((f"rest-{n}", args))
    return found


def main(options: list[str]) -> int:
    logs = Path(tempfile.mkdtemp(prefix="qt-lanes-"))
    todo: queue.Queue[tuple[str, list[str]]] = queue.Queue()
    for group in groups():
        todo.put(group)
    codes: dict[str, int] = {}
    lock = threading.Lock()
    start = time.monotonic()
    print(f"{todo.qsize()} groups on {RUNNERS} runners; their output is in {logs}", flush=True)

    def runner() -> None:
        while True:
            try:
                name, args = todo.get_nowait()
            except queue.Empty:
                return
            log = logs / f"{name}.log"
            began = time.monotonic()
            with open(log, "wb") as out:
                cmd = [sys.executable, "-m", "pytest", *args, "--basetemp", str(logs / f"tmp-{name}"), *options]
                code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
            with lock:  # one group's output at a time, whole
                codes[name] = code
                print(f"\n===== {name}: exit {code}, {time.monotonic() - began:.0f} s "
                      f"(at {time.monotonic() - start:.0f} s) =====", flush=True)
                sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
                sys.stdout.flush()

    threads = [threading.Thread(target=runner) for _ in range(RUNNERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"\n===== groups: {codes}; {time.monotonic() - start:.0f} s in all =====", flush=True)
    ran = [code for code in codes.values() if code != NO_TESTS]
    failed = [code for code in ran if code != 0]
    if failed:
        return failed[0] if failed[0] > 0 else 1  # a group killed by a signal fails the run too
    return 0 if ran else NO_TESTS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
