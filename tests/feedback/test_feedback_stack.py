"""Feedback from every channel on the whole stack as `make run` starts it: the API, the worker that
triages, and the SMTP receiver, over real HTTP and real SMTP."""

from __future__ import annotations

import email.policy
import smtplib
import time
import uuid
from email.message import EmailMessage
from typing import Any

import httpx

from api.tokens import customer_token
from cli.stack import Stack
from domain.encoding import to_hex
from domain.evidence_types import claim_hash
from readmodel.db import session_scope
from readmodel.models import Voucher
from settings import get_settings
from tests.helpers import altered, eventually

AGENT = {"X-API-Key": "dev-agent"}
QUALITY = {"X-API-Key": "dev-quality"}


def _contact() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


def _triaged(api: httpx.Client, receipt: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def check() -> None:
        answer = api.get(f"/feedback/{receipt['reference']}/status",
                         headers={"X-Customer-Token": receipt["customer_token"]})
        assert answer.status_code == 200 and answer.json()["status"] == "triaged", answer.text
        found.update(answer.json())
    eventually(check, timeout=timeout, interval=0.3)
    return found


def test_public_feedback_becomes_a_ticket_the_customer_can_follow(api: httpx.Client) -> None:
    contact = _contact()
    answer = api.post("/feedback", json={"text": "我要投诉：安装师傅迟到三个小时", "contact": contact})
    assert answer.status_code == 202, answer.text
    receipt = answer.json()
    status = _triaged(api, receipt)
    assert status["outcome"] == "ticket" and status["ticket_id"] == "T-" + receipt["reference"]
    ticket_id = status["ticket_id"]
    staff = api.get(f"/tickets/{ticket_id}", headers=AGENT).json()
    assert (staff["category"], staff["priority"], staff["team"], staff["channel"]) == (
        "complaint", "P2", "after-sales", "web")
    # The receipt's token is the ticket's own customer token: the self-service routes take it.
    mine = api.get(f"/tickets/{ticket_id}/customer-view", headers={"X-Customer-Token": receipt["customer_token"]})
    assert mine.status_code == 200 and mine.json()["ticket"]["status"] == "open"
    assert api.get(f"/tickets/{ticket_id}/customer-view", headers={"X-Customer-Token": "ct1.x"}).status_code == 403
    # The description the desk reads is the customer's words.
    record = api.get(f"/tickets/{ticket_id}/record", headers=QUALITY).json()
    texts = [t["text"] for e in record["entries"] for t in e["texts"]]
    assert "我要投诉：安装师傅迟到三个小时" in texts

    # The same words again inside the window: the first receipt, no second ticket.
    again = api.post("/feedback", json={"text": "我要投诉： 安装师傅迟到三个小时 ", "contact": contact}).json()
    assert again["duplicate"] is True and again["reference"] == receipt["reference"]
    # Other words while the ticket is open: attached to it as a customer note.
    more = api.post("/feedback", json={"text": "师傅说明天再来，还是没人联系我", "contact": contact}).json()
    assert more["duplicate"] is False
    assert _triaged(api, more)["outcome"] == "attached"

    def noted() -> None:
        kinds = [m["kind"] for m in api.get(f"/tickets/{ticket_id}", headers=AGENT).json()["milestones"]]
        assert "note_added" in kinds, kinds
    eventually(noted, timeout=30)


def test_suggestions_spam_and_branch_staff(api: httpx.Client) -> None:
    suggestion = api.post("/feedback", json={"text": "建议增加周末上门服务", "contact": _contact(), "channel": "app"})
    spam = api.post("/feedback", json={"text": "casino bitcoin http://a.example http://b.example",
                                       "contact": _contact()})
    assert _triaged(api, suggestion.json())["outcome"] == "suggestion"
    assert _triaged(api, spam.json())["outcome"] == "spam"
    stranger = api.post("/feedback/branch", json={"text": "柜台客户反映门店排队太久", "customer_ref": "C-1"})
    assert stranger.status_code == 401
    branch = api.post("/feedback/branch", headers=AGENT,
                      json={"text": "客户到门店反映：冰箱不制冷", "customer_ref": _contact(), "kind": "request"})
    assert branch.status_code == 202, branch.text
    status = _triaged(api, branch.json())
    ticket = api.get(f"/tickets/{status['ticket_id']}", headers=AGENT).json()
    assert (ticket["channel"], ticket["category"], ticket["priority"]) == ("branch", "after_sales", "P3")


def _mail(sender: str, subject: str, body: str, charset: str = "gb18030") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "feedback@qualitrail.local", subject
    msg.set_content(body, charset=charset)
    return msg


def _data(smtp: smtplib.SMTP, msg: EmailMessage | bytes) -> tuple[int, str]:
    """One message in an open session: the server's answer to its data (code, text)."""
    raw = msg if isinstance(msg, bytes) else msg.as_bytes(policy=email.policy.SMTP)  # CRLF line ends
    smtp.mail("sender@example.cn")
    smtp.rcpt("feedback@qualitrail.local")
    try:
        code, text = smtp.data(raw)
    except smtplib.SMTPDataError as exc:
        smtp.rset()
        return exc.smtp_code, exc.smtp_error.decode()
    return code, text.decode()


def test_mail_becomes_a_ticket_duplicates_do_not_and_too_large_is_refused(api: httpx.Client, stack: Stack) -> None:
    sender = f"wang.{uuid.uuid4().hex[:6]}@example.cn"
    first = _mail(sender, "投诉：热水器漏电", "热水器外壳漏电，家里有老人，非常危险！")
    with smtplib.SMTP("127.0.0.1", stack.config.mail_port, timeout=30) as smtp:
        assert "SIZE 65536" in smtp.ehlo()[1].decode()  # the limit is announced
        code, text = _data(smtp, first)
        assert code == 250 and "Feedback received, reference FB-" in text, text
        ref = text.split("reference ")[1].split()[0]
        # The same message again (a client's retry, a double send): stored, answered with the first.
        code, again = _data(smtp, first)
        assert code == 250 and ref in again and "same as an earlier message" in again
        # Too large: refused with a reply that says why; the session goes on and the next one is kept.
        huge = _mail(sender, "附件", "很长的一段话。\n" * 8_000, charset="utf-8")
        code, refused = _data(smtp, huge)
        assert code == 552 and "too large" in refused and "65536 bytes" in refused, refused
        code, after = _data(smtp, _mail(f"li.{uuid.uuid4().hex[:6]}@example.cn", "建议", "建议开通微信预约"))
        assert code == 250, after
        later = after.split("reference ")[1].split()[0]
    # The stack runs with this process's environment, so its secret derives the same tokens.
    token_of = {r: customer_token(get_settings(), "T-" + r, 1) for r in (ref, later)}
    status = _triaged(api, {"reference": ref, "customer_token": token_of[ref]})
    assert status["outcome"] == "ticket" and status["channel"] == "email"
    ticket = api.get(f"/tickets/{status['ticket_id']}", headers=AGENT).json()
    # "漏电" is a safety keyword: P1 complaint.
    assert (ticket["category"], ticket["priority"], ticket["channel"]) == ("complaint", "P1", "email")
    assert _triaged(api, {"reference": later, "customer_token": token_of[later]})["outcome"] == "suggestion"
    # One ticket from the two identical messages, nothing from the refused one.
    tickets = api.get("/tickets", headers=AGENT, params={"limit": 200}).json()["data"]
    assert [t["id"] for t in tickets].count(status["ticket_id"]) == 1


def _plant_vouchers(stack: Stack, ticket_id: str) -> None:
    """Three vouchers of the ticket in the read model as the chain reconciliation writes them.

    Well-formed (a real claim hash): the stack's own reconciliation reads every voucher row.
    """
    now = int(time.time())
    rows = [("first_response", 2000, False, now + 86400 * 90), ("resolution", 5000, True, now + 86400 * 90),
            ("second", 1000, False, now - 60)]
    with session_scope(f"sqlite:///{stack.config.var_dir / 'qualitrail.db'}") as session:
        for n, (breach, amount, redeemed, expires) in enumerate(rows):
            claim_id, number = f"{ticket_id}:{breach}", 900_000 + n + int(uuid.uuid4().int % 10_000) * 10
            session.add(Voucher(claim_id=claim_id, ticket_id=ticket_id, breach=breach,
                                claim_hash=to_hex(claim_hash(claim_id)), voucher_id=number, amount=amount,
                                currency="CNY", tx_hash="0x" + "ab" * 32, block_number=1, redeemed=redeemed,
                                expires_at=expires))
        session.commit()


def test_customer_self_service_over_http(api: httpx.Client, stack: Stack) -> None:
    body = {"customer_ref": _contact(), "channel": "app", "category": "after_sales", "team": "after-sales",
            "summary": "洗衣机噪音大"}
    created = api.post("/tickets", json=body, headers=AGENT).json()
    ticket_id, token = created["ticket"]["ticket_id"], created["customer_token"]
    mine = {"X-Customer-Token": token}
    for command, payload in (("respond", {"message": "请提供机器型号"}), ("wait-for-customer", {"reason": "型号"})):
        assert api.post(f"/tickets/{ticket_id}/{command}", json=payload, headers=AGENT).status_code == 200
    replied = api.post(f"/tickets/{ticket_id}/customer-reply", json={"text": "型号是 XQG100"}, headers=mine)
    assert replied.status_code == 200 and replied.json()["status"] != "waiting_on_customer"
    assert api.post(f"/tickets/{ticket_id}/customer-reply", json={"text": ""}, headers=mine).status_code == 422
    view = api.get(f"/tickets/{ticket_id}/customer-view", headers=mine).json()
    assert [r["text"] for r in view["replies"]] == ["请提供机器型号"] and view["vouchers"] == []

    _plant_vouchers(stack, ticket_id)
    vouchers = api.get(f"/tickets/{ticket_id}/customer-view", headers=mine, params={"lang": "en"}).json()["vouchers"]
    assert sorted((v["amount"], v["state"]) for v in vouchers) == [
        ("CN¥10.00", "expired"), ("CN¥20.00", "valid"), ("CN¥50.00", "redeemed")]
    page = api.get(f"/my/tickets/{ticket_id}", params={"token": token, "tz": "Europe/Berlin", "lang": "en"})
    assert page.status_code == 200 and "Time limits (Europe/Berlin)" in page.text and "请提供机器型号" in page.text
    assert "CN¥20.00, ready to use, valid until" in page.text and "CN¥10.00, expired" in page.text
    zh = api.get(f"/my/tickets/{ticket_id}", params={"token": token, "lang": "zh"}).text
    assert "¥50.00，已使用" in zh
    for tz in ("Nowhere/Zone", "..%2F..%2Fetc%2Fpasswd", "%ED%B0%80", "%00"):  # the last two: not UTF-8, NUL
        bad = api.get(f"/my/tickets/{ticket_id}?token={token}&tz={tz}")
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "tz"], tz
    assert api.get(f"/my/tickets/{ticket_id}", params={"token": altered(token)}).status_code == 404

    assert api.post(f"/tickets/{ticket_id}/resolve", headers=AGENT,
                    json={"resolution_code": "fixed", "root_cause": "installation"}).status_code == 200
    form = {"token": token, "lang": "en", "tz": "Asia/Shanghai"}
    bad_rating = api.post(f"/my/tickets/{ticket_id}/confirm", data={**form, "rating": "9"})
    assert bad_rating.status_code == 422 and bad_rating.json()["detail"][0]["loc"] == ["body", "rating"]
    reopened = api.post(f"/my/tickets/{ticket_id}/reopen", data={**form, "reason": "还是很吵"})
    assert reopened.status_code == 303 and "done=reopen" in reopened.headers["location"]
    assert api.get(f"/tickets/{ticket_id}", headers=AGENT).json()["status"] != "resolved"
    # A second reopen of an open ticket is refused: the page says so (409), nothing changes.
    again = api.post(f"/my/tickets/{ticket_id}/reopen", data={**form, "reason": "再次"})
    assert again.status_code == 409 and 'class="box err"' in again.text
    assert api.post(f"/my/tickets/{ticket_id}/shout", data=form).status_code == 404
    assert api.post(f"/my/tickets/{ticket_id}/reply", json=form).status_code == 415
