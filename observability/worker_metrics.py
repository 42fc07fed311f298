"""The worker's Prometheus metrics: SLA breaches, vouchers issued, anchor batches, anchoring lag.

Served by :py:func:`start_worker_metrics` on ``127.0.0.1:<QT_WORKER_METRICS_PORT>``. The Temporal
SDK's own series (``temporal_*``: polls, task latencies, slots) come from the Rust core and are served
on a second port by the runtime :py:func:`temporal_runtime` builds, because the core owns its
exporter and cannot share our registry.

The counters live in this process, so they count what *this* worker did; Prometheus sums across
workers. Activities call :py:func:`record_breach`, :py:func:`record_voucher_issued` and
:py:func:`record_anchor_batch` at the point where the thing happened, never on a read-back or a retry,
so a restarted or retried activity does not count twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from temporalio import activity

from domain.encoding import parse_time
from readmodel import evidence
from readmodel.db import session_scope
from settings import Settings

log = logging.getLogger("qualitrail.metrics")

# Our own registry, not prometheus_client's global one: importing this module twice in a test run
# (or next to a library that uses the global registry) must not raise "Duplicated timeseries".
REGISTRY = CollectorRegistry(auto_describe=True)

SLA_BREACHES = Counter("qualitrail_sla_breaches", "SLA targets missed, by clock.", ["clock"], registry=REGISTRY)
VOUCHERS_ISSUED = Counter("qualitrail_vouchers_issued", "Compensation vouchers issued by a transaction we sent.",
                          registry=REGISTRY)
ANCHOR_BATCHES = Counter("qualitrail_anchor_batches", "Evidence batches anchored by a transaction we sent.",
                         registry=REGISTRY)


def _first_attempt() -> bool:
    """False inside a retried activity: an alert re-sent after a webhook failure is still one breach."""
    if not activity.in_activity():
        return True
    return activity.info().attempt <= 1


def record_breach(clock: str) -> None:
    """Count one SLA breach of ``clock`` (call where the breach alert is delivered)."""
    if _first_attempt():
        SLA_BREACHES.labels(clock=clock or "unknown").inc()


def record_voucher_issued() -> None:
    """Count one voucher whose issuing transaction this worker sent (not one read back from the chain)."""
    VOUCHERS_ISSUED.inc()


def record_anchor_batch() -> None:
    """Count one batch whose anchoring transaction this worker sent (not one found already anchored)."""
    ANCHOR_BATCHES.inc()


class AnchoringLagCollector(Collector):
    """Samples the read model on each scrape: a lag computed at scrape time is never stale."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def describe(self) -> Iterable[Metric]:
        # Without describe(), registering would call collect() and hit the database at start.
        yield GaugeMetricFamily("qualitrail_anchoring_lag_seconds", "Age of the oldest milestone not yet in a batch.")
        yield GaugeMetricFamily("qualitrail_anchoring_pending_leaves", "Milestones not yet in a batch.")

    def collect(self) -> Iterable[Metric]:
        try:
            with session_scope(self.db_url) as session:
                count, oldest = evidence.pending_stats(session=session)
        except Exception:  # noqa: BLE001 - a database hiccup must not break the whole scrape
            log.warning("anchoring lag not sampled: read model unavailable", exc_info=True)
            return
        lag = 0.0 if oldest is None else max((datetime.now(UTC) - parse_time(oldest)).total_seconds(), 0.0)
        yield GaugeMetricFamily("qualitrail_anchoring_lag_seconds", "Age of the oldest milestone not yet in a batch.",
                                value=lag)
        yield GaugeMetricFamily("qualitrail_anchoring_pending_leaves", "Milestones not yet in a batch.", value=count)


_started_lock = threading.Lock()
_started: dict[int, Any] = {}


_lag_collector: AnchoringLagCollector | None = None


def start_worker_metrics(settings: Settings, port: int, *, host: str = "127.0.0.1") -> None:
    """Serve the worker's series over HTTP in a daemon thread; port 0 (the setting's default) disables it.

    Binds to loopback by default: the series are not secret, but nothing outside the host (or pod)
    needs to reach them without a scrape config saying so.
    """
    global _lag_collector
    if not port:
        return
    with _started_lock:
        if port in _started:  # a second worker in one process (tests) shares the endpoint
            return
        if _lag_collector is None:  # one lag series per process, whatever the number of endpoints
            _lag_collector = AnchoringLagCollector(settings.db_url)
            REGISTRY.register(_lag_collector)
        _started[port] = start_http_server(port, addr=host, registry=REGISTRY)
    log.info("worker metrics on http://%s:%d/metrics", host, port)
