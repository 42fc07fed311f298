"""Alerts to department heads: always logged, and POSTed to a webhook when one is configured."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.tickets import Notification
from observability.worker_metrics import record_breach

log = logging.getLogger("qualitrail.notify")


class Notifier:
    def __init__(self, webhook_url: str = "", timeout_seconds: float = 10.0) -> None:
        self.webhook_url = webhook_url
        self.timeout = timeout_seconds

    @activity.defn(name="notify")
    def notify(self, alert: Notification) -> None:
        """Delivers one alert; the receiver deduplicates on the Idempotency-Key header."""
        log.warning("alert to %s: %s [%s %s]", alert.recipient, alert.message, alert.kind, alert.subject_id,
                    extra={"ticket_id": alert.subject_id, "alert_kind": alert.kind})
        if alert.kind == "sla_breach":
            record_breach(alert.details.get("clock", ""))
        if not self.webhook_url:
            return
        try:
            response = httpx.post(self.webhook_url, content=json.dumps(asdict(alert)),
                                  headers={"Content-Type": "application/json",
                                           "Idempotency-Key": alert.idempotency_key},
                                  timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ApplicationError(f"webhook unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise ApplicationError(f"webhook answered {response.status_code}")
        if response.status_code >= 400:
            # A 4xx will not get better by retrying; log and give up on this alert.
            log.error("webhook refused alert %s: %s", alert.idempotency_key, response.status_code)
