"""Acceptance (issue 7, item 4): after a ticket breaches, the API's ``/metrics`` and the worker's metrics
endpoints expose the named series, read over HTTP from the real stack (demo policy: 15 s first response)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from cli.stack import Stack, StackConfig, free_port
from settings import ROOT
from tests.helpers import eventually
from tests.observability.helpers import samples, value

AGENT = {"X-API-Key": "dev-agent"}


@pytest.fixture(scope="module")
def metrics_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.ephemeral(tmp_path_factory.mktemp("metrics-stack"),
                                   policy_file=ROOT / "config" / "demo-policy.toml",
                                   extra_env={"QT_WORKER_METRICS_PORT": str(free_port()),
                                              "QT_TEMPORAL_METRICS_PORT": str(free_port())})
    with Stack(config) as stack:
        yield stack


def test_named_series_after_a_breach(metrics_stack: Stack) -> None:
    env = metrics_stack.config.extra_env
    worker_url = f"http://127.0.0.1:{env['QT_WORKER_METRICS_PORT']}/metrics"
    temporal_url = f"http://127.0.0.1:{env['QT_TEMPORAL_METRICS_PORT']}/metrics"
    api = httpx.Client(base_url=metrics_stack.config.api_url, timeout=60)
    body = {"ticket_id": f"MET-{uuid.uuid4().hex[:8]}", "customer_ref": "cust-met", "channel": "phone",
            "category": "after_sales", "priority": "P3", "team": "after-sales", "summary": "No dial tone"}
    created = api.post("/tickets", json=body, headers=AGENT)
    assert created.status_code in (200, 201), created.text
    tid = created.json()["ticket"]["ticket_id"]

    # The breach fires at 15 s; its voucher follows once the breach leaf is anchored.
    def voucher_recorded() -> None:
        view = api.get(f"/tickets/{tid}", headers=AGENT).json()
        assert "first_response" in view["breaches"], view["breaches"]
        assert len(view["vouchers"]) == 1, view["vouchers"]
    eventually(voucher_recorded, timeout=120, interval=1)

    def worker_series() -> None:
        text = httpx.get(worker_url, timeout=5).text
        assert value(text, "qualitrail_sla_breaches_total", clock="first_response") == 1.0
        assert (value(text, "qualitrail_vouchers_issued_total") or 0) >= 1
        assert (value(text, "qualitrail_anchor_batches_total") or 0) >= 1
        assert value(text, "qualitrail_anchoring_lag_seconds") is not None
    eventually(worker_series, timeout=30, interval=1)

    api_text = api.get("/metrics").text
    # Request counts by route template (observability/api_metrics.py names them qualitrail_http_*).
    posts = value(api_text, "qualitrail_http_requests_total", method="POST", route="/tickets",
                  status=str(created.status_code))
    assert posts == 1
    gets = [v for labels, v in samples(api_text, "qualitrail_http_requests_total")
            if labels.get("route") == "/tickets/{ticket_id}"]
    assert gets and sum(gets) >= 1
    assert tid not in api_text  # raw paths never become labels
    assert samples(api_text, "qualitrail_http_request_duration_seconds_count")

    # The Temporal SDK's runtime metrics, exported by the Rust core on its own port.
    temporal_text = httpx.get(temporal_url, timeout=5).text
    names = {line.split("{")[0].split(" ")[0] for line in temporal_text.splitlines()
             if line and not line.startswith("#")}
    assert any(n.startswith("temporal_") for n in names), sorted(names)[:20]
