"""Alerts reach people by e-mail through a real local SMTP server, once per alert.

The notify activity is run the way Temporal runs it (ActivityEnvironment), including the retries
Temporal makes after an error: a retry must not send the mail or the webhook call again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import Notifier, SmtpConfig, message_id
from domain.tickets import Notification
from readmodel import alerts
from readmodel.alert_models import Person
from readmodel.db import init_db, session_scope
from tests.alerts.mailbox import Mailbox, mailbox
from tests.helpers import serve, tmp_db_url

HEAD = "after-sales-head"
HEAD_MAIL = "wang.fang@after-sales.example"


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with mailbox() as b:
        yield b


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = tmp_db_url(tmp_path)
    init_db(url)
    with session_scope(url) as session:
        alerts.put_person(session=session, person=Person(
            id=HEAD, display_name="Wang Fang", email=HEAD_MAIL, team="after-sales", role="team_head",
            updated_at=datetime.now(UTC)))
    return url


def alert(seq: int = 3, recipient: str = HEAD) -> Notification:
    return Notification(idempotency_key=f"T-MAIL-1:{seq}", recipient=recipient, subject_id="T-MAIL-1",
                        kind="sla_breach", message="SLA breach: first_response target missed",
                        details={"clock": "first_response", "target_seconds": "1800"})


def run(notifier: Notifier, a: Notification) -> None:
    ActivityEnvironment().run(notifier.notify, a)


def test_an_alert_arrives_once_even_when_the_activity_runs_again(box: Mailbox, db_url: str) -> None:
    notifier = Notifier(db_url=db_url, smtp=SmtpConfig(host="127.0.0.1", port=box.port))
    for _ in range(3):  # the first run, then two retries of the same attempt's input
        run(notifier, alert())
    assert box.alert_keys() == ["T-MAIL-1:3"]
    mail = box.received[0]
    assert mail["X-Envelope-To"] == HEAD_MAIL and mail["Message-ID"] == message_id("T-MAIL-1:3")
    assert mail["Subject"] == "[Qualitrail] sla breach: T-MAIL-1"
    assert "SLA breach: first_response target missed" in mail.get_payload()
    with session_scope(db_url) as session:
        rows, total = alerts.inbox(session=session, recipient=HEAD)
        assert total == 1 and rows[0].idempotency_key == "T-MAIL-1:3"
        assert [d.channel for d in alerts.deliveries_of(session=session, key="T-MAIL-1:3")] == ["email"]


def test_a_busy_mail_server_is_retried_and_a_refused_address_is_not(box: Mailbox, db_url: str) -> None:
    notifier = Notifier(db_url=db_url, smtp=SmtpConfig(host="127.0.0.1", port=box.port))
    box.answers = ["451 4.3.0 try again later"]
    with pytest.raises(ApplicationError, match="451"):
        run(notifier, alert(4))
    run(notifier, alert(4))  # Temporal's retry
    assert box.alert_keys() == ["T-MAIL-1:4"]

    box.answers = ["550 5.1.1 no such mailbox"]
    run(notifier, alert(5))  # permanent: logged, not retried for ever
    assert box.alert_keys() == ["T-MAIL-1:4"]
    with session_scope(db_url) as session:
        assert alerts.delivered(session=session, key="T-MAIL-1:5", channel="email") is None


def test_unreachable_mail_server_is_a_retryable_error(db_url: str) -> None:
    from tests.helpers import free_port

    notifier = Notifier(db_url=db_url, smtp=SmtpConfig(host="127.0.0.1", port=free_port(), timeout_seconds=2))
    with pytest.raises(ApplicationError, match="unreachable") as err:
        run(notifier, alert(6))
    assert not err.value.non_retryable


def test_someone_without_an_address_still_gets_the_alert_in_the_inbox(box: Mailbox, db_url: str) -> None:
    notifier = Notifier(db_url=db_url, smtp=SmtpConfig(host="127.0.0.1", port=box.port))
    run(notifier, alert(7, recipient="billing-head"))
    with session_scope(db_url) as session:
        alerts.put_person(session=session, person=Person(
            id="retired-head", display_name="Gone", email="gone@example.com", role="team_head", active=False,
            updated_at=datetime.now(UTC)))
    run(notifier, alert(8, recipient="retired-head"))
    assert box.received == []
    with session_scope(db_url) as session:
        assert alerts.inbox(session=session, recipient="billing-head")[1] == 1
        assert alerts.inbox(session=session, recipient="retired-head")[1] == 1


def test_webhook_failure_after_the_mail_retries_only_the_webhook(box: Mailbox, db_url: str) -> None:
    calls: list[tuple[str, int]] = []

    async def hook(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        code = 500 if not calls else 200  # the receiver fails once
        key = dict(scope["headers"]).get(b"idempotency-key", b"").decode()
        calls.append((key, code))
        assert json.loads(body)["idempotency_key"] == key
        await send({"type": "http.response.start", "status": code, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serve(hook) as url:
        notifier = Notifier(url, db_url=db_url, smtp=SmtpConfig(host="127.0.0.1", port=box.port))
        with pytest.raises(ApplicationError, match="500"):
            run(notifier, alert(9))
        run(notifier, alert(9))
        run(notifier, alert(9))
    assert box.alert_keys() == ["T-MAIL-1:9"]
    assert calls == [("T-MAIL-1:9", 500), ("T-MAIL-1:9", 200)]
    with session_scope(db_url) as session:
        assert sorted(d.channel for d in alerts.deliveries_of(session=session, key="T-MAIL-1:9")) == ["email",
                                                                                                     "webhook"]
