"""Reading an inbound feedback e-mail: sender, subject (RFC 2047, Chinese included), plain text.

Pure code over the standard library's e-mail parser. Bodies in any charset the message declares
(UTF-8, GB18030, GBK, Big5 …) are decoded; an unknown or lying charset is read as UTF-8 with
replacement characters rather than refused, so the customer's words are kept as well as they can be.
An HTML-only message is reduced to its text.
"""

from __future__ import annotations

import email.policy
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser

TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)


class MailRefused(ValueError):
    """The message cannot be feedback (no sender, no text); the message is the SMTP reply's text."""


@dataclass
class ParsedMail:
    sender: str
    subject: str
    text: str
    automatic: bool = False  # an auto-reply or a bounce: kept, but never answered (no mail loops)


def _decode(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    charset = (part.get_content_charset() or "utf-8").lower()
    if charset in ("gb2312", "gbk"):
        charset = "gb18030"  # its superset: mail labelled GB2312 often holds GBK characters
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


def _clean(text: str) -> str:
    # No NUL (PostgreSQL cannot store it) and no lone surrogates (cannot be UTF-8).
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()


def parse_mail(raw: bytes, envelope_sender: str = "") -> ParsedMail:
    """The feedback in a raw RFC 5322 message.

    Raises:
        MailRefused: No sender address or no text.
    """
    msg = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    sender = ""
    try:
        from_header = msg["from"]
        addresses = getattr(from_header, "addresses", ()) if from_header is not None else ()
        sender = addresses[0].addr_spec if addresses else ""
    except (IndexError, ValueError, TypeError):
        sender = ""
    sender = sender or envelope_sender
    if not sender or "@" not in sender or len(sender) > 128:
        raise MailRefused("no sender address to answer")
    try:
        subject = str(msg.get("subject", "") or "")
    except (ValueError, TypeError, LookupError):
        subject = ""
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if isinstance(body, EmailMessage):
        text = _decode(body)
        if body.get_content_type() == "text/html":
            text = html.unescape(TAGS.sub(" ", text))
    elif not msg.is_multipart():
        text = _decode(msg)
    subject, text = _clean(" ".join(subject.split()))[:200], _clean(text)
    if not text and not subject:
        raise MailRefused("the message has no text")
    auto = str(msg.get("auto-submitted", "no")).strip().lower() not in ("", "no") or bool(msg.get("x-autoreply"))
    return ParsedMail(sender=sender.strip(), subject=subject, text=text or subject, automatic=auto)
