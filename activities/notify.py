"""Alerts to people: always logged; put in the recipient's inbox, e-mailed over SMTP to the address
the directory holds, and POSTed to a webhook, each when configured.

Exactly once per alert and channel: the read model records each delivery under the alert's key
(the ticket's id and milestone number), and a retried attempt (after an error, or on another worker
after a crash) skips what is recorded. The one gap is a crash between the mail server's "250 OK" and
that record; the e-mail's Message-ID is derived from the key, so a mail client shows such a resend
as the same message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.tickets import Notification
from observability.worker_metrics import record_breach
from readmodel import alerts
from readmodel.db import session_scope
from settings import Settings

log = logging.getLogger("qualitrail.notify")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    sender: str = "qualitrail@localhost"
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        if not settings.smtp_host:
            return None
        return cls(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
                   username=settings.smtp_username, password=settings.smtp_password.get_secret_value(),
                   starttls=settings.smtp_starttls, timeout_seconds=settings.smtp_timeout_seconds)


def message_id(key: str) -> str:
    """The same Message-ID for every attempt at one alert."""
    return f"<alert-{hashlib.sha256(key.encode()).hexdigest()[:32]}@qualitrail>"


def alert_email(alert: Notification, sender: str, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = f"[Qualitrail] {alert.kind.replace('_', ' ')}: {alert.subject_id}"
    mail["Message-ID"] = message_id(alert.idempotency_key)
    mail["X-Qualitrail-Alert"] = alert.idempotency_key
    details = "".join(f"{k}: {v}\n" for k, v in sorted(alert.details.items()))
    mail.set_content(f"{alert.message}\n\nsubject: {alert.subject_id}\nkind: {alert.kind}\n{details}")
    return mail


class Notifier:
    def __init__(self, webhook_url: str = "", timeout_seconds: float = 10.0, *, db_url: str = "",
                 smtp: SmtpConfig | None = None) -> None:
        self.webhook_url = webhook_url
        self.timeout = timeout_seconds
        self.db_url = db_url  # "" = no inbox and no delivery record (webhook only, as before)
        self.smtp = smtp

    @activity.defn(name="notify")
    def notify(self, alert: Notification) -> None:
        """Delivers one alert to the inbox, by e-mail and to the webhook, each at most once."""
        log.warning("alert to %s: %s [%s %s]", alert.recipient, alert.message, alert.kind, alert.subject_id,
                    extra={"ticket_id": alert.subject_id, "alert_kind": alert.kind})
        if alert.kind == "sla_breach":
            record_breach(alert.details.get("clock", ""))
        if self.db_url:
            with session_scope(self.db_url) as session:
                alerts.record_alert(session=session, key=alert.idempotency_key, recipient=alert.recipient,
                                    subject_id=alert.subject_id, kind=alert.kind, message=alert.message,
                                    details=alert.details, at=datetime.now(UTC))
            if self.smtp is not None:
                self._email(alert, self.smtp)
        if self.webhook_url:
            self._webhook(alert)

    def _done(self, key: str, channel: str) -> bool:
        with session_scope(self.db_url) as session:
            return alerts.delivered(session=session, key=key, channel=channel) is not None

    def _mark(self, key: str, channel: str, address: str, mid: str = "") -> None:
        with session_scope(self.db_url) as session:
            alerts.mark_delivered(session=session, key=key, channel=channel, address=address, message_id=mid,
                                  at=datetime.now(UTC))

    def _email(self, alert: Notification, smtp: SmtpConfig) -> None:
        if self._done(alert.idempotency_key, "email"):
            return
        with session_scope(self.db_url) as session:
            person = alerts.get_person(session=session, person_id=alert.recipient)
        if person is None or not person.active or not person.email:
            # Still in the inbox; the directory needs an entry for e-mail to reach anyone.
            log.error("no e-mail address for %s; alert %s only in the inbox", alert.recipient, alert.idempotency_key)
            return
        mail = alert_email(alert, smtp.sender, person.email)
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
                if smtp.starttls:
                    client.starttls()
                if smtp.username:
                    client.login(smtp.username, smtp.password)
                client.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:  # permanent: retrying will not help
                log.error("mail server refused alert %s for %s: %s", alert.idempotency_key, alert.recipient,
                          exc.smtp_code)
                return
            raise ApplicationError(f"mail server answered {exc.smtp_code}") from exc
        except smtplib.SMTPRecipientsRefused:
            log.error("mail server refused the address of %s for alert %s", alert.recipient, alert.idempotency_key)
            return
        except (OSError, smtplib.SMTPException) as exc:
            raise ApplicationError(f"mail server unreachable: {type(exc).__name__}") from exc
        self._mark(alert.idempotency_key, "email", person.email, mail["Message-ID"])

    def _webhook(self, alert: Notification) -> None:
        if self.db_url and self._done(alert.idempotency_key, "webhook"):
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
            return
        if self.db_url:
            self._mark(alert.idempotency_key, "webhook", self.webhook_url)
