"""The e-mail channel's receipt: the SMTP receiver (in process, no Temporal) stores the message and
mails the sender the reference and the follow link with the customer token, through the outgoing
SMTP settings, to a real aiosmtpd sink; an automatic message is kept but never answered."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import select

from api.tokens import customer_token
from cli.mail import FeedbackMailHandler, _SizedSMTP
from readmodel.db import init_db, session_scope
from readmodel.feedback_models import Feedback
from settings import Settings
from tests.helpers import POLICY, free_port, tmp_db_url


class Sink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(BytesParser(policy=default).parsebytes(raw))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[tuple[int, Sink, Settings]]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    url = tmp_db_url(tmp_path)
    init_db(url)
    settings = Settings(database_url=url, smtp_host="127.0.0.1", smtp_port=controller.port,
                        smtp_from="feedback@qualitrail.local", public_base_url="https://qt.example")
    handler = FeedbackMailHandler(settings, POLICY.feedback, None)
    port = free_port()
    server = await asyncio.get_running_loop().create_server(lambda: _SizedSMTP(handler), host="127.0.0.1", port=port)
    try:
        yield port, sink, settings
    finally:
        server.close()
        controller.stop()


def _send(port: int, msg: EmailMessage, size: int | None = None) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        code, text = smtp.mail("x@example.cn", options=[f"SIZE={size}"] if size else [])
        if code != 250:
            return code, text.decode()
        smtp.rcpt("feedback@qualitrail.local")
        code, text = smtp.data(msg.as_bytes(policy=default.clone(linesep="\r\n")))
        return code, text.decode()


def _mail(auto: bool = False) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "zhao@example.cn", "feedback@qualitrail.local", "门店服务"
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("门店店员态度很好，点赞！", charset="gb18030")
    return msg


async def test_the_sender_gets_a_receipt_with_the_follow_link(receiver: tuple[int, Sink, Settings]) -> None:
    port, sink, settings = receiver
    code, text = await asyncio.to_thread(_send, port, _mail())
    assert code == 250, text
    ref = text.split("reference ")[1].split()[0]
    token = customer_token(settings, "T-" + ref, 1)
    assert len(sink.messages) == 1
    receipt = sink.messages[0]
    assert receipt["To"] == "zhao@example.cn" and ref in str(receipt["Subject"])
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert f"https://qt.example/feedback/{ref}?token={token}" in receipt.get_content()
    # An auto-reply is kept like any message but not answered: no mail loop.
    code, text = await asyncio.to_thread(_send, port, _mail(auto=True))
    assert code == 250 and len(sink.messages) == 1
    # A client that declares a size over the limit is refused before it sends the data.
    code, text = await asyncio.to_thread(_send, port, _mail(), POLICY.feedback.max_email_bytes + 1)
    assert code == 552 and "too large" in text
    with session_scope(settings.db_url) as session:
        rows = session.exec(select(Feedback)).all()
    assert [(r.channel, r.status) for r in rows] == [("email", "received"), ("email", "duplicate")]
