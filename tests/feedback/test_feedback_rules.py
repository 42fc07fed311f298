"""The pure parts of rule 14: triage by the policy's rules, the spam score, reading e-mail."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from domain.feedback import TriageFacts, duplicate_key, spam_score, triage
from domain.feedback_mail import MailRefused, parse_mail
from tests.helpers import POLICY

FEEDBACK = POLICY.feedback


def _decide(text: str, kind: str = "", open_ticket: str | None = None, observer: bool = False) -> tuple[str, ...]:
    facts = TriageFacts(text, kind, spam_score(text, FEEDBACK.spam), open_ticket, observer)
    d = triage("FB-1", facts, FEEDBACK, "T-FB-1", POLICY.observers)
    return d.outcome, d.kind, d.category, d.priority, d.team, d.ticket_id


def test_keyword_rules_decide_kind_category_and_priority() -> None:
    assert _decide("洗衣机冒烟了，请马上处理") == ("ticket", "complaint", "complaint", "P1", "after-sales", "T-FB-1")
    assert _decide("我要投诉你们的安装师傅") == ("ticket", "complaint", "complaint", "P2", "after-sales", "T-FB-1")
    assert _decide("建议增加周末上门服务")[0] == "suggestion"
    # No rule matches: the sender's own kind, then the policy's shape for it.
    assert _decide("请问保修期多长？", kind="request") == ("ticket", "request", "after_sales", "P3", "after-sales",
                                                          "T-FB-1")
    assert _decide("Where is my delivery?")[1] == "request"


def test_open_ticket_takes_the_feedback_and_observers_get_their_own_ticket() -> None:
    assert _decide("我要投诉", open_ticket="T-old")[0::5] == ("attached", "T-old")
    assert _decide("建议改进流程", open_ticket="T-old", observer=True) == (
        "ticket", "suggestion", "observer_suggestion", "P2", "quality", "T-FB-1")


def test_spam_score_is_the_documented_sum() -> None:
    spam = FEEDBACK.spam
    assert spam_score("正常的反馈", spam) == 0
    assert spam_score("see http://a.example and www.b.example", spam) == 2 * spam.link_points
    assert spam_score("CASINO bonus", spam) == spam.word_points
    assert spam_score("!" * spam.repeat_run, spam) == spam.repeat_points
    assert _decide("casino casino http://x.example www.y.example")[0] == "spam"


def test_duplicates_compare_normalised_words_of_one_customer() -> None:
    assert duplicate_key("c1", "洗衣机  漏水") == duplicate_key("c1", "洗衣机 漏水\n")
    assert duplicate_key("c1", "ＡＢＣ") == duplicate_key("c1", "abc")  # full-width and case
    assert duplicate_key("c1", "漏水") != duplicate_key("c2", "漏水")


def _mail(subject: str, body: str, charset: str, subtype: str = "plain") -> bytes:
    msg = EmailMessage()
    msg["From"] = "张三 <zhang@example.cn>"
    msg["To"] = "feedback@qualitrail.local"
    msg["Subject"] = subject
    msg.set_content(body, subtype=subtype, charset=charset)
    return msg.as_bytes()


@pytest.mark.parametrize("charset", ["utf-8", "gb18030"])
def test_mail_with_a_chinese_subject_and_body(charset: str) -> None:
    raw = _mail("投诉：冰箱不制冷", "师傅两次上门都没修好。\n请尽快处理。", charset)
    assert b"=?utf-8?" in raw  # the subject travels RFC 2047-encoded
    parsed = parse_mail(raw)
    assert (parsed.sender, parsed.subject) == ("zhang@example.cn", "投诉：冰箱不制冷")
    assert parsed.text == "师傅两次上门都没修好。\n请尽快处理。"


def test_mail_html_only_lying_charset_and_refusals() -> None:
    parsed = parse_mail(_mail("hi", "<p>门锁&amp;坏了</p><script>x()</script>", "utf-8", "html"))
    assert parsed.text == "门锁&坏了"
    lying = b"From: a@example.cn\r\nSubject: x\r\nContent-Type: text/plain; charset=no-such\r\n\r\n\xe4\xbd\xa0\xff"
    assert parse_mail(lying).text == "你\ufffd"
    with pytest.raises(MailRefused, match="sender"):
        parse_mail(b"Subject: x\r\n\r\nbody")
    with pytest.raises(MailRefused, match="no text"):
        parse_mail(b"From: a@example.cn\r\n\r\n")
