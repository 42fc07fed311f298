"""The customer's own ticket page (self-service with the per-ticket token), as HTML.

Status, deadlines in the customer's time zone, the replies sent to them, their vouchers (amount as
money, state, expiry), and forms to reply, confirm and rate with a comment, or ask to reopen. Phone
first, Chinese and English, no script; the token travels in the query and in hidden form fields.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from urllib.parse import urlencode

from babel.dates import format_datetime

from api.feedback_page import shell
from api.verify_page import CLOCK_WORDS, KIND_WORDS
from domain.encoding import parse_time
from domain.tickets import TicketView

__all__ = ["CustomerPage", "VoucherLine", "render_ticket"]

WORDS: dict[str, tuple[str, str]] = {
    "title": ("我的工单", "My ticket"),
    "status": ("状态", "Status"), "priority": ("优先级", "Priority"), "opened": ("创建时间", "Opened"),
    "deadlines": ("服务时限（{zone}）", "Time limits ({zone})"),
    "due": ("{clock}：{at} 前", "{clock}: by {at}"), "met": ("已达成", "met"), "breached": ("已超时", "missed"),
    "replies": ("给您的回复", "Replies to you"), "none": ("暂无。", "None yet."),
    "vouchers": ("补偿代金券", "Compensation vouchers"),
    "voucher": ("{amount}，{state}，有效期至 {expiry}", "{amount}, {state}, valid until {expiry}"),
    "v.valid": ("可使用", "ready to use"), "v.redeemed": ("已使用", "redeemed"), "v.expired": ("已过期", "expired"),
    "steps": ("处理过程", "What happened"),
    "reply": ("回复我们", "Reply to us"), "reply.send": ("发送回复", "Send reply"),
    "confirm": ("确认已解决并评价", "Confirm it is solved and rate us"),
    "rating": ("评分（1–5）", "Rating (1–5)"), "comment": ("评价内容（可选）", "Comment (optional)"),
    "confirm.send": ("确认并评价", "Confirm and rate"),
    "reopen": ("问题没有解决？申请重新处理", "Not solved? Ask to reopen"),
    "reason": ("原因", "Reason"), "reopen.send": ("申请重新处理", "Ask to reopen"),
    "done": ("已完成：{what}", "Done: {what}"), "refused": ("未能完成：{why}", "Could not be done: {why}"),
    "rated": ("您的评分：{rating}", "Your rating: {rating}"),
}
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "open": ("已受理", "open"), "acknowledged": ("已确认", "acknowledged"), "in_progress": ("处理中", "in progress"),
    "waiting_on_customer": ("等待您的回复", "waiting for your reply"), "resolved": ("已解决，待您确认", "resolved"),
    "closed": ("已关闭", "closed"), "cancelled": ("已取消", "cancelled"),
}


def _w(key: str, lang: str, table: dict[str, tuple[str, str]] = WORDS, **fields: object) -> str:
    zh, en = table.get(key, (key, key))
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


@dataclass
class VoucherLine:
    amount: str  # money as people read it
    state: str  # valid | redeemed | expired
    expires_at: datetime | None


@dataclass
class CustomerPage:
    lang: str
    zone: tzinfo
    zone_name: str
    token: str
    view: TicketView
    replies: list[tuple[str, str]] = field(default_factory=list)  # (at, text)
    vouchers: list[VoucherLine] = field(default_factory=list)
    message: str = ""
    failed: bool = False


def _time(page: CustomerPage, instant: str | datetime) -> str:
    at = parse_time(instant) if isinstance(instant, str) else instant
    return format_datetime(at, "yyyy-MM-dd HH:mm", tzinfo=page.zone, locale=page.lang)


def _form(page: CustomerPage, action: str, heading: str, fields: str, button: str) -> str:
    tid = html.escape(page.view.ticket_id)
    return (f'<h2>{heading}</h2><form method="post" action="/my/tickets/{tid}/{action}" accept-charset="utf-8">'
            f'<input type="hidden" name="token" value="{html.escape(page.token)}">'
            f'<input type="hidden" name="lang" value="{page.lang}">'
            f'<input type="hidden" name="tz" value="{html.escape(page.zone_name)}">{fields}'
            f'<button type="submit" id="{action}-send">{button}</button></form>')


def render_ticket(page: CustomerPage) -> str:
    lang, v = page.lang, page.view
    e = html.escape
    parts = []
    if page.message:
        parts.append(f'<div class="box {"err" if page.failed else "ok"}" role="status">{e(page.message)}</div>')
    parts.append(f'<dl><dt>{_w("status", lang)}</dt><dd id="status">{e(_w(v.status, lang, STATUS_WORDS))}</dd>'
                 f'<dt>{_w("priority", lang)}</dt><dd>{e(v.priority)}</dd>'
                 f'<dt>{_w("opened", lang)}</dt><dd>{e(_time(page, v.created_at))}</dd></dl>')
    if v.rating:
        parts.append(f"<p>{e(_w('rated', lang, rating=v.rating))}</p>")
    clocks = []
    for c in v.clocks:
        name = _w(c.name, lang, CLOCK_WORDS)
        if c.outcome in ("met", "breached"):
            clocks.append(f"<li>{e(name)}: {_w(c.outcome, lang)}</li>")
        elif c.deadline:
            clocks.append(f"<li>{e(_w('due', lang, clock=name, at=_time(page, c.deadline)))}</li>")
    parts.append(f'<h2>{e(_w("deadlines", lang, zone=page.zone_name))}</h2><ul class="plain" id="deadlines">'
                 f'{"".join(clocks) or "<li>" + _w("none", lang) + "</li>"}</ul>')
    replies = "".join(f'<li><span class="note">{e(_time(page, at))}</span><br>{e(text)}</li>'
                      for at, text in page.replies)
    parts.append(f'<h2>{_w("replies", lang)}</h2><ul class="plain" id="replies">'
                 f'{replies or "<li>" + _w("none", lang) + "</li>"}</ul>')
    if page.vouchers:
        lines = "".join(f"<li>{e(_w('voucher', lang, amount=x.amount, state=_w('v.' + x.state, lang), expiry=_time(page, x.expires_at) if x.expires_at else '—'))}</li>"  # noqa: E501
                        for x in page.vouchers)
        parts.append(f'<h2>{_w("vouchers", lang)}</h2><ul class="plain" id="vouchers">{lines}</ul>')
    steps = "".join(f"<li>{e(_time(page, m.at))} {e(_w(m.kind, lang, KIND_WORDS))}</li>" for m in v.milestones)
    parts.append(f'<h2>{_w("steps", lang)}</h2><ul class="plain">{steps}</ul>')
    if v.status not in ("closed", "cancelled", "resolved"):
        parts.append(_form(page, "reply", _w("reply", lang),
                           f'<label for="text">{_w("reply", lang)}</label>'
                           f'<textarea id="text" name="text" maxlength="5000" required></textarea>',
                           _w("reply.send", lang)))
    if v.status == "resolved":
        options = "".join(f'<option value="{n}">{n}</option>' for n in (5, 4, 3, 2, 1))
        parts.append(_form(page, "confirm", _w("confirm", lang),
                           f'<label for="rating">{_w("rating", lang)}</label>'
                           f'<select id="rating" name="rating">{options}</select>'
                           f'<label for="comment">{_w("comment", lang)}</label>'
                           f'<textarea id="comment" name="comment" maxlength="5000"></textarea>',
                           _w("confirm.send", lang)))
        parts.append(_form(page, "reopen", _w("reopen", lang),
                           f'<label for="reason">{_w("reason", lang)}</label>'
                           f'<textarea id="reason" name="reason" maxlength="500"></textarea>',
                           _w("reopen.send", lang)))
    params = {"token": page.token, "tz": page.zone_name}
    return shell(lang, f'{_w("title", lang)} {v.ticket_id}', "".join(parts),
                 path=f"/my/tickets/{v.ticket_id}", params=params)


def page_url(ticket_id: str, token: str, lang: str, zone: str, **extra: str) -> str:
    return f"/my/tickets/{ticket_id}?{urlencode({'token': token, 'lang': lang, 'tz': zone, **extra})}"
