"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives."""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers import free_port


class Mailbox:
    """The server's side: every accepted message, and a way to refuse the next few."""

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.answers: list[str] = []  # answers to the next DATA commands instead of accepting
        self._lock = threading.Lock()
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        with self._lock:
            if self.answers:
                return self.answers.pop(0)
            message = email.message_from_bytes(envelope.content)
            message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
            self.received.append(message)
        return "250 OK"

    def alert_keys(self) -> list[str]:
        return [str(m["X-Qualitrail-Alert"]) for m in self.received]


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
