"""The inbound e-mail receiver (rule 14): ``qualitrail mail``, an SMTP server on ``QT_MAIL_PORT``.

Each accepted message is stored as feedback before the reply (``services/feedback.py``), so a
``250`` means the words are kept; its triage then runs as a workflow like every channel's. A message
over the policy's ``max_email_bytes`` is refused with ``552`` naming the limit (also announced with
the SIZE extension, so a client that declares a larger size is refused before sending it); nothing
else is affected by it. Started by ``qualitrail run`` (``cli/stack.py``) as its own process.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import smtplib
from email.message import EmailMessage
from typing import AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.client import Client

from activities.notify import SmtpConfig
from api.routes.feedback import follow_url
from api.tokens import customer_token
from domain.feedback import FeedbackModel
from domain.feedback_mail import MailRefused, parse_mail
from domain.policy import load_policy
from readmodel.db import init_db, session_scope
from services.feedback import Stored, Submission, start_triage, store_submission
from settings import Settings
from temporal.client import connect_temporal

log = logging.getLogger("qualitrail.mail")
# Printed once the receiver listens (the stack waits for it).
MAIL_READY = "mail receiver listening"


class FeedbackMailHandler:
    """aiosmtpd handler: every message to any recipient here is feedback."""

    def __init__(self, settings: Settings, policy: FeedbackModel, client: Client | None) -> None:
        self.settings, self.policy, self.client = settings, policy, client

    def too_large(self) -> str:
        return f"552 5.3.4 Message too large: feedback e-mail may be at most {self.policy.max_email_bytes} bytes"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace")
        if len(data) > self.policy.max_email_bytes:
            return self.too_large()
        try:
            mail = parse_mail(data, envelope.mail_from or "")
        except MailRefused as exc:
            return f"550 5.6.0 Not accepted as feedback: {exc}"
        sub = Submission(channel="email", text=mail.text, contact=mail.sender, submitted_by="email",
                         subject=mail.subject, language="zh")
        stored = await asyncio.to_thread(self._store, sub)
        if not stored.duplicate:
            await start_triage(self.client, self.settings, stored.ref)
        if not mail.automatic and mail.sender.lower() != self.settings.smtp_from.lower():
            await asyncio.to_thread(self._send_receipt, mail.sender, stored)
        note = " (same as an earlier message)" if stored.duplicate else ""
        return f"250 2.0.0 Feedback received, reference {stored.ref}{note}"

    def _send_receipt(self, to: str, stored: Stored) -> None:
        """The receipt by return mail: reference and follow link (best effort; the SMTP reply has the
        reference too). Sent through the outgoing SMTP settings (``QT_SMTP_*``); none: not sent."""
        smtp = SmtpConfig.from_settings(self.settings)
        if smtp is None:
            return
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
                if smtp.starttls:
                    client.starttls()
                if smtp.username:
                    client.login(smtp.username, smtp.password)
                client.send_message(receipt_mail(self.settings, stored, to))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("receipt for feedback %s not sent: %s", stored.ref, type(exc).__name__)

    def _store(self, sub: Submission) -> Stored:
        with session_scope(self.settings.db_url) as session:
            return store_submission(session, self.settings, self.policy, sub)


def receipt_mail(settings: Settings, stored: Stored, to: str) -> EmailMessage:
    """The receipt, in Chinese and English: the reference and the link with the customer token."""
    link = follow_url(settings, stored.ref, customer_token(settings, stored.ticket_id, 1))
    mail = EmailMessage()
    mail["From"], mail["To"] = settings.smtp_from, to
    mail["Subject"] = f"已收到您的反馈 / We have your feedback: {stored.ref}"
    mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: an auto-responder must not answer it
    mail["Message-ID"] = f"<receipt-{stored.stored_ref}@qualitrail>"
    mail.set_content(f"反馈编号 / Reference: {stored.ref}\n\n"
                     f"查看处理进度、回复、确认和评价 / Follow, reply, confirm and rate:\n{link}\n\n"
                     "请保存此链接。/ Keep this link.\n", charset="utf-8")
    return mail


class _SizedSMTP(SMTP):
    """aiosmtpd's SMTP with our clear answer for an over-size message."""

    def __init__(self, handler: FeedbackMailHandler, **kwargs: object) -> None:
        super().__init__(handler, data_size_limit=handler.policy.max_email_bytes, **kwargs)  # type: ignore[arg-type]
        self._handler_ref = handler

    async def push(self, status: AnyStr) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        if text.startswith("552"):  # data over the limit, or a declared SIZE over it
            await super().push(self._handler_ref.too_large())
            return
        await super().push(status)


async def serve_mail(settings: Settings) -> None:
    """Listen until SIGTERM or SIGINT."""
    policy = load_policy(settings.policy_file).feedback
    init_db(settings.db_url)
    client = await connect_temporal(settings, attempts=30)
    handler = FeedbackMailHandler(settings, policy, client)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _SizedSMTP(handler, hostname="qualitrail", ident="Qualitrail feedback"),
                                      host=settings.mail_host, port=settings.mail_port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("%s on %s:%s", MAIL_READY, settings.mail_host, settings.mail_port)
    print(f"{MAIL_READY} on {settings.mail_host}:{settings.mail_port}", flush=True)
    async with server:
        await stop.wait()
