"""Prometheus metrics for the API: request counts, latency and requests in flight, at ``GET /metrics``.

Written against the text exposition format (0.0.4) directly instead of ``prometheus_client``, which
is not among our pinned dependencies: three series need no library. Call :py:func:`install_metrics`
once in ``create_app``, after the other middleware so it also times what they answer (e.g. 413).

Requests are labelled by route *template* (``/tickets/{ticket_id}``), never by raw path, so the
number of series stays bounded whatever clients send. Counts live in the process: run one API
process per container and let Prometheus sum across instances.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds. Dense below 1 s where the API should answer; Temporal updates can take a few seconds.
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def _fmt_float(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(float(value))


class HttpMetrics:
    """The API's series; one instance per app, shared by the middleware and the endpoint."""

    def __init__(self, namespace: str = "qualitrail", buckets: Iterable[float] = BUCKETS) -> None:
        self.namespace = namespace
        self.buckets = tuple(sorted(buckets))
        # Sync endpoints run in a thread pool; the lock keeps a scrape from reading half an update.
        self._lock = threading.Lock()
        self._requests: dict[Labels, int] = defaultdict(int)
        self._bucket_counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = defaultdict(float)
        self._in_progress: dict[Labels, int] = defaultdict(int)

    def started(self, method: str) -> None:
        with self._lock:
            self._in_progress[(("method", method),)] += 1

    def finished(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._in_progress[(("method", method),)] -= 1
            self._requests[(("method", method), ("route", route), ("status", str(status)))] += 1
            key: Labels = (("method", method), ("route", route))
            counts = self._bucket_counts.setdefault(key, [0] * (len(self.buckets) + 1))
            counts[bisect_left(self.buckets, seconds)] += 1  # le is inclusive: bisect_left
            self._sums[key] += seconds

    def render(self) -> str:
        ns = self.namespace
        lines: list[str] = []
        with self._lock:
            lines += [f"# HELP {ns}_http_requests_total HTTP requests answered, by route template and status.",
                      f"# TYPE {ns}_http_requests_total counter"]
            lines += [f"{ns}_http_requests_total{_fmt_labels(k)} {v}" for k, v in sorted(self._requests.items())]

            name = f"{ns}_http_request_duration_seconds"
            lines += [f"# HELP {name} Time from request received to response sent.", f"# TYPE {name} histogram"]
            for key in sorted(self._bucket_counts):
                cumulative = 0
                for bound, count in zip((*self.buckets, float("inf")), self._bucket_counts[key], strict=True):
                    cumulative += count
                    lines.append(f"{name}_bucket{_fmt_labels((*key, ('le', _fmt_float(bound))))} {cumulative}")
                lines.append(f"{name}_sum{_fmt_labels(key)} {_fmt_float(self._sums[key])}")
                lines.append(f"{name}_count{_fmt_labels(key)} {cumulative}")

            lines += [f"# HELP {ns}_http_requests_in_progress HTTP requests being answered now.",
                      f"# TYPE {ns}_http_requests_in_progress gauge"]
            lines += [f"{ns}_http_requests_in_progress{_fmt_labels(k)} {v}"
                      for k, v in sorted(self._in_progress.items())]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware): it does not buffer or re-wrap streaming responses."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 500  # what the client gets if the app raises before sending a response
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.started(method)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # The router writes the matched route into this same scope dict.
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.metrics.finished(method, template, status, time.perf_counter() - start)


def install_metrics(app: Starlette, *, path: str = "/metrics") -> HttpMetrics:
    """Adds the timing middleware and ``GET {path}``; returns the metrics (tests read them)."""
    metrics = HttpMetrics()

    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    # add_route keeps it out of the OpenAPI schema: it is for Prometheus, not for API clients.
    app.add_route(path, metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.state.metrics = metrics
    return metrics
