"""GET /metrics: request counts and latency in Prometheus' text format, labelled by route template."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI, HTTPException

from observability.api_metrics import install_metrics
from tests.helpers import serve


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in an exposition, or None when absent."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        assert m, f"malformed line: {line!r}"
        if m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if got == labels:
            return float(m.group(3))
    return None


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise HTTPException(404, "no such item")
        return {"id": item_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    install_metrics(app)
    return app


def test_counts_by_route_template_and_status() -> None:
    # No keep-alive: uvicorn closes a connection after an unhandled error (the /boom case).
    with serve(make_app()) as url:
        _counts_by_route_template_and_status(httpx.Client(base_url=url, headers={"Connection": "close"}))


def _counts_by_route_template_and_status(client: httpx.Client) -> None:
    for item_id in ["a", "b", "c", "missing"]:
        client.get(f"/items/{item_id}")
    client.get("/boom")
    client.get("/nowhere/at/all")

    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = resp.text
    total = "qualitrail_http_requests_total"
    # One series per template, not per raw path: cardinality stays bounded.
    assert sample(text, total, method="GET", route="/items/{item_id}", status="200") == 3
    assert sample(text, total, method="GET", route="/items/{item_id}", status="404") == 1
    assert sample(text, total, method="GET", route="/boom", status="500") == 1
    assert sample(text, total, method="GET", route="<unmatched>", status="404") == 1
    assert "/items/a" not in text


def test_latency_histogram_is_cumulative_and_consistent() -> None:
    with serve(make_app()) as url:
        _latency_histogram(httpx.Client(base_url=url))


def _latency_histogram(client: httpx.Client) -> None:
    for _ in range(5):
        client.get("/items/x")
    text = client.get("/metrics").text
    name = "qualitrail_http_request_duration_seconds"
    labels = {"method": "GET", "route": "/items/{item_id}"}
    buckets = [sample(text, f"{name}_bucket", **labels, le=le)
               for le in ["0.005", "0.01", "0.1", "1.0", "10.0", "+Inf"]]
    assert all(b is not None for b in buckets)
    assert buckets == sorted(buckets)  # type: ignore[type-var]
    assert buckets[-1] == sample(text, f"{name}_count", **labels) == 5
    assert (sample(text, f"{name}_sum", **labels) or 0) > 0
    # Only /metrics itself is being answered while the exposition is rendered.
    assert sample(text, "qualitrail_http_requests_in_progress", method="GET") == 1


def test_metrics_on_the_real_app_and_not_in_openapi() -> None:
    from api.main import create_app

    # Served without its lifespan: /health/live and /metrics need no Temporal connection.
    with serve(create_app()) as url:
        client = httpx.Client(base_url=url)
        assert client.get("/health/live").status_code == 200
        text = client.get("/metrics").text
        assert sample(text, "qualitrail_http_requests_total", method="GET", route="/health/live", status="200") == 1
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]
