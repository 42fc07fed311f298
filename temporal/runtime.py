"""The Temporal SDK runtime of a process, exporting the SDK's own metrics when a port is set."""

from __future__ import annotations

import threading

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

__all__ = ["temporal_runtime"]

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
