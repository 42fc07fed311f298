"""The Temporal SDK runtime of a process, exporting the SDK's own metrics when a port is set."""

from __future__ import annotations

import threading

from temporalio.runtime import LoggingConfig, PrometheusConfig, Runtime, TelemetryConfig, TelemetryFilter

__all__ = ["quiet_runtime", "temporal_runtime"]

_runtimes: dict[str, Runtime] = {}
_lock = threading.Lock()


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


def quiet_runtime() -> Runtime:
    """A runtime whose core logs errors only (the default logs its warnings to standard error).

    For the twin's time-skipping servers: the core warns on every worker that the test server is
    older than it expects, which across a run's shards would break up its progress bar.
    """
    with _lock:
        if "quiet" not in _runtimes:
            _runtimes["quiet"] = Runtime(telemetry=TelemetryConfig(
                logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))
        return _runtimes["quiet"]
