"""The Temporal SDK runtime of a process, exporting the SDK's own metrics when a port is set."""

from __future__ import annotations

import os
import threading

from temporalio.runtime import LoggingConfig, PrometheusConfig, Runtime, TelemetryConfig, TelemetryFilter

__all__ = ["temporal_runtime", "twin_runtime"]

_runtimes: dict[str, Runtime] = {}
_lock = threading.Lock()
# The environment variable the core's thread pool (tokio) takes its number of threads from.
TOKIO_THREADS = "TOKIO_WORKER_THREADS"


def temporal_runtime(port: int, *, host: str = "127.0.0.1") -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics on ``host:port``; ``None`` (the default runtime) for 0.

    Cached per address: the core binds the port when the runtime is built, so a second runtime on the
    same port would fail, and every client of the process should share one runtime anyway.
    """
    if not port:
        return None
    address = f"{host}:{port}"
    with _lock:
        if address not in _runtimes:
            _runtimes[address] = Runtime(
                telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
        return _runtimes[address]


def twin_runtime() -> Runtime:
    """The digital twin's runtime: its core logs errors only, on one thread.

    The core warns on every worker that the time-skipping server is older than it expects, which
    across a run's shards would break up its progress bar. And its thread pool has one thread, not
    one per core: the twin's process already keeps a core busy with its event loop and its server
    another, and with a thread per core the core's threads handed work between them and to the
    loop; one thread cut a shard's context switches by a third and its CPU by about 5 %
    (docs/benchmarks.md). The pool's size is read from the environment when the runtime is built.
    """
    with _lock:
        if "twin" not in _runtimes:
            before = os.environ.get(TOKIO_THREADS)
            os.environ[TOKIO_THREADS] = "1"
            try:
                _runtimes["twin"] = Runtime(telemetry=TelemetryConfig(
                    logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))
            finally:
                if before is None:
                    del os.environ[TOKIO_THREADS]
                else:
                    os.environ[TOKIO_THREADS] = before
        return _runtimes["twin"]
