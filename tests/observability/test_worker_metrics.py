"""The worker's own series, served over HTTP: counters, and the anchoring lag sampled on scrape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlmodel import Session
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from cli.stack import free_port
from observability import worker_metrics as metrics
from readmodel.db import get_engine, init_db
from readmodel.models import Milestone
from settings import Settings
from temporal.runtime import temporal_runtime
from tests.observability.helpers import value


def scrape(port: int) -> str:
    resp = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert resp.status_code == 200
    return resp.text


def test_counters_and_lag_over_http(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    init_db(settings.db_url)
    old = (datetime.now(UTC) - timedelta(seconds=120)).isoformat(timespec="microseconds").replace("+00:00", "Z")
    with Session(get_engine(settings.db_url)) as session:
        session.add(Milestone(subject="T-1", seq=0, kind="opened", at=old, prev="0x" + "00" * 32,
                              leaf="0x" + "11" * 32, data="{}"))
        session.commit()

    port = free_port()
    metrics.start_worker_metrics(settings, port)
    metrics.start_worker_metrics(settings, port)  # idempotent: a second call does not rebind
    before = scrape(port)
    breaches = value(before, "qualitrail_sla_breaches_total", clock="first_response") or 0.0
    vouchers = value(before, "qualitrail_vouchers_issued_total") or 0.0

    metrics.record_breach("first_response")
    metrics.record_voucher_issued()
    metrics.record_anchor_batch()
    text = scrape(port)
    assert value(text, "qualitrail_sla_breaches_total", clock="first_response") == breaches + 1
    assert value(text, "qualitrail_vouchers_issued_total") == vouchers + 1
    assert (value(text, "qualitrail_anchor_batches_total") or 0) >= 1
    lag = value(text, "qualitrail_anchoring_lag_seconds")
    assert lag is not None and 119 <= lag < 300
    assert value(text, "qualitrail_anchoring_pending_leaves") == 1


def test_breach_counted_once_across_activity_retries() -> None:
    @activity.defn
    def deliver() -> None:
        metrics.record_breach("resolution")

    def count() -> float:
        return metrics.SLA_BREACHES.labels(clock="resolution")._value.get()

    start = count()
    env = ActivityEnvironment()
    env.run(deliver)
    env.info = activity.Info(**{**env.info.__dict__, "attempt": 2})  # the webhook failed: a retry
    env.run(deliver)
    assert count() == start + 1


def test_temporal_runtime_disabled_by_default() -> None:
    assert temporal_runtime(0) is None


def test_temporal_runtime_serves_sdk_metrics() -> None:
    port = free_port()
    runtime = temporal_runtime(port)
    assert runtime is not None and temporal_runtime(port) is runtime  # one per address
    resp = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert resp.status_code == 200
