"""The public feedback page (rule 14), its receipt and the page that follows a feedback, as HTML.

Phone first, Chinese and English (``api/i18n.py``), no script, one stylesheet from this server
(``api/static/feedback.css``). Everything a sender typed is escaped; the only link that carries
the customer token is the follow link, which the answer's ``Referrer-Policy: no-referrer`` keeps
from leaking to other sites.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from api.i18n import HTML_LANG, LANGUAGE_NAMES, LANGUAGES

__all__ = ["WORDS", "follow_page", "form_page", "receipt_page", "shell", "word"]

WORDS: dict[str, tuple[str, str]] = {
    "title": ("意见反馈", "Feedback"),
    "intro": ("投诉、需求或建议，随时告诉我们。每条反馈都会被记录并给您一个编号。",
              "Complaints, requests or suggestions: tell us any time. Every message is kept and gets a reference."),
    "kind": ("类型", "Kind"),
    "kind.complaint": ("投诉", "Complaint"), "kind.request": ("需求 / 咨询", "Request / question"),
    "kind.suggestion": ("建议", "Suggestion"),
    "text": ("内容", "Your message"),
    "contact": ("手机号或电子邮箱（不会公开）", "Phone number or e-mail (never shown)"),
    "send": ("提交", "Send"),
    "errors": ("请检查：", "Please check:"),
    "error.text": ("请填写内容（最多 {max} 字）。", "Write your message (at most {max} characters)."),
    "error.contact": ("请填写有效的手机号或电子邮箱。", "Give a valid phone number or e-mail address."),
    "error.kind": ("请选择类型。", "Choose a kind."),
    "receipt.title": ("已收到您的反馈", "We have your feedback"),
    "receipt.ref": ("反馈编号", "Reference"),
    "receipt.dup": ("这与您不久前提交的内容相同，我们按原编号继续处理。",
                    "This is the same as what you sent a moment ago; we follow it up under the first reference."),
    "receipt.follow": ("查看处理进度", "Follow its progress"),
    "receipt.ticket": ("工单编号", "Ticket reference"),
    "receipt.keep": ("请保存此链接：凭它可以查看进度、回复、确认和评价。",
                     "Keep this link: with it you can follow, reply, confirm and rate."),
    "follow.title": ("反馈进度", "Feedback progress"),
    "follow.received": ("已收到，正在分拣处理。请稍后刷新本页。",
                        "Received and being sorted. Refresh this page in a moment."),
    "follow.ticket": ("已转为工单，正在处理。", "It became a ticket and is being handled."),
    "follow.attached": ("已添加到您正在处理中的工单，由同一位客服跟进。",
                        "It was added to your ticket that is already open; the same agent follows it up."),
    "follow.suggestion": ("已作为建议记录，将在质量改进中考虑。感谢您！",
                          "It was recorded as a suggestion for our quality improvements. Thank you!"),
    "follow.spam": ("已记录，由工作人员人工审核。", "It was kept and will be reviewed by a member of staff."),
    "follow.open": ("查看工单", "Open the ticket"),
    "follow.erased": ("应您的要求，反馈内容和联系方式已删除；处理记录保留。",
                      "At your request its words and your contact were erased; how it was handled stays."),
    "refresh": ("刷新", "Refresh"),
    "received_at": ("收到时间", "Received"),
    "language": ("语言", "Language"),
}


def word(key: str, lang: str, **fields: object) -> str:
    zh, en = WORDS[key]
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


def _switch(lang: str, path: str, params: dict[str, str]) -> str:
    links = []
    for other in LANGUAGES:
        if other == lang:
            links.append(f"<strong>{LANGUAGE_NAMES[other]}</strong>")
        else:
            query = urlencode({**params, "lang": other})
            links.append(f'<a href="{html.escape(path)}?{html.escape(query)}" lang="{HTML_LANG[other]}">'
                         f"{LANGUAGE_NAMES[other]}</a>")
    return f'<p class="lang">{" · ".join(links)}</p>'


def shell(lang: str, title: str, body: str, *, path: str, params: dict[str, str] | None = None) -> str:
    """A whole page: language switch, title, ``body`` (already escaped), our stylesheet only."""
    return (f'<!doctype html><html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)}</title><link rel="stylesheet" href="/assets/feedback.css"></head>'
            f"<body>{_switch(lang, path, params or {})}<h1>{html.escape(title)}</h1>{body}</body></html>")


def form_page(lang: str, *, max_chars: int, errors: list[str] | None = None,
              values: dict[str, str] | None = None) -> str:
    v = {k: html.escape(s) for k, s in (values or {}).items()}
    problems = ""
    if errors:
        items = "".join(f"<li>{html.escape(word('error.' + e, lang, max=max_chars))}</li>" for e in errors)
        problems = f'<div class="box err" role="alert"><p>{word("errors", lang)}</p><ul>{items}</ul></div>'
    options = "".join(
        f'<option value="{k}"{" selected" if v.get("kind") == k else ""}>{word("kind." + k, lang)}</option>'
        for k in ("complaint", "request", "suggestion"))
    body = (f'<p>{word("intro", lang)}</p>{problems}'
            f'<form method="post" action="/feedback/form" accept-charset="utf-8">'
            f'<input type="hidden" name="lang" value="{lang}">'
            f'<label for="kind">{word("kind", lang)}</label><select id="kind" name="kind">{options}</select>'
            f'<label for="text">{word("text", lang)}</label>'
            f'<textarea id="text" name="text" maxlength="{max_chars}" required>{v.get("text", "")}</textarea>'
            f'<label for="contact">{word("contact", lang)}</label>'
            f'<input type="text" id="contact" name="contact" autocomplete="tel" maxlength="128" required '
            f'value="{v.get("contact", "")}">'
            f'<button type="submit" id="send">{word("send", lang)}</button></form>')
    return shell(lang, word("title", lang), body, path="/feedback")


def receipt_page(lang: str, *, ref: str, follow_url: str, duplicate: bool, received_at: str,
                 ticket_id: str | None = None, path: str = "/feedback") -> str:
    """The receipt; ``ticket_id`` when the feedback is a ticket from the start (an observer's suggestion)."""
    colon = "：" if lang == "zh" else ": "
    dup = f'<p>{word("receipt.dup", lang)}</p>' if duplicate else ""
    ticket = (f'<p>{word("receipt.ticket", lang)}{colon}<span class="ref" id="ticket-ref">{html.escape(ticket_id)}'
              f"</span></p>" if ticket_id else "")
    body = (f'<div class="box ok"><p>{word("receipt.ref", lang)}{colon}'
            f'<span class="ref" id="reference">{html.escape(ref)}</span></p>{ticket}{dup}'
            f'<p class="note">{word("received_at", lang)}: {html.escape(received_at)}</p></div>'
            f'<p><a id="follow" href="{html.escape(follow_url)}">{word("receipt.follow", lang)}</a></p>'
            f'<p class="note">{word("receipt.keep", lang)}</p>')
    return shell(lang, word("receipt.title", lang), body, path=path)


def follow_page(lang: str, *, ref: str, token: str, outcome: str | None, received_at: str,
                ticket_url: str | None, erased: bool = False) -> str:
    state = word(f"follow.{outcome}" if outcome else "follow.received", lang)
    if erased:
        state += " " + word("follow.erased", lang)
    link = (f'<p><a id="ticket" href="{html.escape(ticket_url)}">{word("follow.open", lang)}</a></p>'
            if ticket_url else "")
    params = {"token": token}
    again = f'{html.escape("/feedback/" + ref)}?{html.escape(urlencode({**params, "lang": lang}))}'
    body = (f'<div class="box"><p>{word("receipt.ref", lang)}{"：" if lang == "zh" else ": "}'
            f'<span class="ref">{html.escape(ref)}</span></p><p id="state">{html.escape(state)}</p>'
            f'<p class="note">{word("received_at", lang)}: {html.escape(received_at)}</p></div>{link}'
            f'<p><a href="{again}">{word("refresh", lang)}</a></p>')
    return shell(lang, word("follow.title", lang), body, path=f"/feedback/{ref}", params=params)
