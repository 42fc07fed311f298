"""The twin's Temporal runtime runs its core on one thread, and leaves the process's environment
as it found it (docs/benchmarks.md: a thread per core cost the twin about 5 % of its CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from settings import ROOT

# In a fresh process: the runtime is cached per process, and the threads counted are its own.
COUNT_THREADS = """
import collections, json, os, time
def threads(settle=0.5):
    time.sleep(settle)  # a runtime's threads name themselves once they have started
    return collections.Counter(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))
before = threads(0)
from temporal.runtime import twin_runtime
from temporalio.runtime import Runtime, TelemetryConfig
twin_runtime()
after_twin = threads()
default = Runtime(telemetry=TelemetryConfig())  # kept: a dropped runtime ends its threads
after_default = threads()
print(json.dumps({"twin": (after_twin - before)["tokio-rt-worker"],
                  "default": (after_default - after_twin)["tokio-rt-worker"],
                  "env": os.environ.get("TOKIO_WORKER_THREADS")}))
"""


@pytest.mark.parametrize("preset", [None, "3"])
def test_the_twin_runtime_has_one_core_thread_and_leaves_the_environment_alone(preset: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOKIO_WORKER_THREADS"}
    if preset is not None:
        env["TOKIO_WORKER_THREADS"] = preset
    out = subprocess.run([sys.executable, "-c", COUNT_THREADS], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["twin"] == 1
    # A runtime built after it gets the pool the environment asks for, as before.
    assert seen["default"] == int(preset or os.cpu_count() or 1)
    assert seen["env"] == preset
