"""The verification page as HTML, in Chinese or English, readable on a phone.

The checks themselves (``domain/certificate_checks.py``, ``certificates/verify.py``) speak English,
which is what the auditor's terminal shows; this page shows their English words as they are and,
in Chinese, each check's title and outcome from the catalog below by check name and status. Their
detail lines (hashes, block numbers, addresses) are shown as they are. Times are shown in the
policy's time zone, money by the currency's minor units (``domain/money.py``). The stylesheet is
``api/static/verify.css``: the page runs under a content security policy that allows no inline
style or script.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_datetime, get_timezone_name
from fastapi import status

from api.i18n import HTML_LANG, LANGUAGE_NAMES, LANGUAGES
from domain.certificate_checks import Check, CheckStatus, overall_verdict
from domain.encoding import parse_time
from domain.money import format_money

__all__ = ["Note", "PageModel", "PageView", "render_page"]

# Page words: key -> (Chinese, English). Templates take str.format fields.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Qualitrail 服务证书验证", "Qualitrail certificate check"),
    "heading.qr": ("证书验证", "Certificate check"),
    "heading.upload": ("证书文件验证", "Certificate file check"),
    "intro.upload": ("上传您收到的证书文件，对照区块链进行验证。",
                     "Upload the certificate file you received to check it against the blockchain."),
    "form.heading": ("验证证书文件", "Check a certificate file"),
    "form.button": ("验证", "Check"),
    "language": ("语言", "Language"),
    "colon": ("：", ": "),
    "ticket": ("工单", "Ticket"),
    "verdict.genuine": ("该服务记录真实、完整，与证书所载一致。",
                        "This service record is genuine and complete as certified."),
    # The English verdict is the checks' own (domain.certificate_checks.overall_verdict).
    "verdict.failed": ("未通过验证：{titles}。", ""),
    "verdict.notes": ("已验证，但有提示：{titles}。", ""),
    "verdict.passed": ("已验证：所有检查均通过。", ""),
    "verdict.skipped": ("未检查：{titles}。", ""),
    "note.qr_older": ("此二维码对应截至 {as_of} 的记录。此后又有 {newer} 个步骤已记录并上链；如需查看，请索取新证书。",
                      "This QR code is for the record as of {as_of}. {newer} more step(s) have been recorded "
                      "and anchored since; ask for a new certificate to see them."),
    "note.pending": ("另有 {pending} 个新步骤正在等待记录到区块链上，将出现在下一份证书中。",
                     "{pending} newer step(s) are waiting to be anchored on the blockchain; they will appear "
                     "in the next certificate."),
    "note.auditor": ("以上每项检查都可以在不信任本服务器的情况下复核：审计工具 {tool} "
                     "可对照您选择的任意区块链节点验证证书。",
                     "Every check above can be repeated without trusting this server: the auditor tool {tool} "
                     "checks the certificate against any blockchain node you choose."),
    "steps.heading": ("已记录的步骤", "Recorded steps"),
    "steps.seq": ("序号", "#"),
    "steps.step": ("步骤", "Step"),
    "steps.time": ("时间（{zone}）", "Time ({zone})"),
    "steps.leaf": ("证据哈希", "Evidence hash"),
    "steps.batch": ("批次", "Batch"),
    "vouchers.heading": ("补偿代金券", "Compensation vouchers"),
    "vouchers.row": ("代金券 #{voucher_id}：{amount}（{clock}超时补偿）",
                     "Voucher #{voucher_id}: {amount} (for the missed {clock} time limit)"),
}
STATUS_WORDS: dict[CheckStatus, tuple[str, tuple[str, str]]] = {
    CheckStatus.PASS: ("✔", ("通过", "Passed")),
    CheckStatus.FAIL: ("✘", ("未通过", "FAILED")),
    CheckStatus.WARN: ("!", ("通过（有提示）", "Passed, with a note")),
    CheckStatus.SKIP: ("–", ("未检查", "Not checked")),
}
KIND_WORDS: dict[str, tuple[str, str]] = {
    "opened": ("工单已创建", "Ticket opened"),
    "repeat_flagged": ("识别为重复投诉", "Recognised as a repeat complaint"),
    "assigned": ("已分派给客服人员", "Assigned to an agent"),
    "first_response": ("首次回复客户", "First response to the customer"),
    "note_added": ("已记录工作备注", "Work note recorded"),
    "paused": ("已暂停，等待客户回复", "Paused, waiting for the customer"),
    "resumed": ("已恢复处理", "Work resumed"),
    "priority_changed": ("优先级已变更", "Priority changed"),
    "policy_changed": ("服务标准已更新", "Service standard updated"),
    "resolved": ("问题已解决", "Problem resolved"),
    "confirmed": ("客户已确认解决", "Resolution confirmed by the customer"),
    "auto_closed": ("已自动关闭", "Closed automatically"),
    "reopened": ("已重新打开", "Reopened"),
    "cancelled": ("已取消", "Cancelled"),
    "escalated": ("已升级至其他部门", "Escalated to another department"),
    "sla_warning": ("即将超出服务时限", "Service time limit approaching"),
    "sla_breach": ("已超出服务时限", "Service time limit missed"),
    "voucher_issued": ("已发放补偿代金券", "Compensation voucher issued"),
    "voucher_redeemed": ("补偿代金券已使用", "Compensation voucher redeemed"),
    "token_revoked": ("客户访问码已更新", "Customer access code renewed"),
}
CLOCK_WORDS: dict[str, tuple[str, str]] = {"first_response": ("首次响应", "first response"),
                                           "resolution": ("问题解决", "resolution")}
# Chinese titles of the checks, by check name (English: the check's own title).
CHECK_TITLES_ZH: dict[str, str] = {
    "format": "可读的证书文件",
    "qr": "与二维码一致",
    "digest": "签发后未被修改",
    "signature": "由运营方签名",
    "hash_chain": "服务记录完整且顺序正确",
    "inclusion": "每个步骤都在已上链的批次中",
    "network": "连接到正确的区块链",
    "contracts": "正版 Qualitrail 合约",
    "root_on_chain": "已记录在区块链上",
    "voucher": "补偿代金券",
    "chain_error": "区块链节点回答了全部查询",
    "service": "验证服务可用",
    "record": "找到记录",
}
# Chinese outcome of each check, by name and status: true of every case the English summary covers.
CHECK_SUMMARIES_ZH: dict[tuple[str, CheckStatus], str] = {
    ("format", CheckStatus.FAIL): "这不是可读的 Qualitrail 证书文件（格式不符或文件过大）。",
    ("qr", CheckStatus.PASS): "此证书正是该二维码所对应的证书。",
    ("qr", CheckStatus.FAIL): ("证书与二维码不符：二维码生成后记录被改动过，或链接中没有有效的证书摘要。"
                               "请重新扫描证书上的二维码。"),
    ("digest", CheckStatus.PASS): "证书内容的哈希与其所带的摘要一致。",
    ("digest", CheckStatus.FAIL): "证书在签发后被改动过：其内容的哈希与摘要不再一致。",
    ("signature", CheckStatus.PASS): "由您信任的运营方密钥签名。",
    ("signature", CheckStatus.WARN): "签名有效，签名者与证书所列一致；但没有可信的运营方地址可供比对。",
    ("signature", CheckStatus.FAIL): "签名无法读取，或不是由可信的运营方密钥签署。",
    ("hash_chain", CheckStatus.PASS): "所有步骤都与其哈希一致，并按顺序相连，没有缺失。",
    ("hash_chain", CheckStatus.WARN): "所有步骤按顺序相连；含自由文本的步骤不公开其内容，只核对了它们在链中的位置。",
    ("hash_chain", CheckStatus.FAIL): "服务记录被改动过：部分步骤与其哈希或链接不符。",
    ("inclusion", CheckStatus.PASS): "每个步骤都已证明包含在其批次的默克尔根中。",
    ("inclusion", CheckStatus.FAIL): "部分步骤未能证明属于已上链的批次。",
    ("network", CheckStatus.PASS): "节点所在的正是证书所属的区块链。",
    ("network", CheckStatus.FAIL): "无法连接区块链节点，或节点不属于证书所列的区块链；链上内容未能核对。",
    ("contracts", CheckStatus.PASS): "证书所列的登记合约和代金券合约运行的是已发布的代码。",
    ("contracts", CheckStatus.FAIL): "证书所列的合约不是已发布的 Qualitrail 合约。",
    ("root_on_chain", CheckStatus.PASS): "所有默克尔根都记录在所述区块中并有足够的确认数，登记合约接受每一个证明。",
    ("root_on_chain", CheckStatus.FAIL): "证书中的部分证据并未如所述记录在此区块链上。",
    ("root_on_chain", CheckStatus.SKIP): "未检查：没有提供区块链节点。",
    ("voucher", CheckStatus.PASS): "所列代金券均已在链上依据已上链的超时证据发放；未超时则无需补偿。",
    ("voucher", CheckStatus.FAIL): "部分代金券与链上记录不符。",
    ("chain_error", CheckStatus.FAIL): "区块链节点在核对过程中出错。",
    ("service", CheckStatus.FAIL): "验证服务暂时无法连接区块链，未做任何验证。请稍后再试，或用审计工具核对证书文件。",
    ("record", CheckStatus.FAIL): "本服务器没有该工单已上链的记录，因此无法确认此二维码。",
}


@dataclass(frozen=True)
class Note:
    """A sentence under the verdict: a :data:`WORDS` key (``note.<name>``) and its fields."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class PageModel:
    """What one verification page shows (``heading``: ``"qr"`` or ``"upload"``)."""

    heading: str
    checks: list[Check]
    ticket_id: str = ""
    cert: dict[str, Any] | None = None
    notes: list[Note] = field(default_factory=list)
    http_status: int = status.HTTP_200_OK


@dataclass(frozen=True)
class PageView:
    """How to show a page to this reader.

    Attributes:
        lang: One of ``api.i18n.LANGUAGES``.
        zone: The policy's time zone.
        query: The request's query parameters, kept by the language switch (``lang`` replaced).
    """

    lang: str
    zone: tzinfo
    query: dict[str, str] = field(default_factory=dict)

    def word(self, key: str, **fields: Any) -> str:
        zh, en = WORDS[key]
        return (zh if self.lang == "zh" else en).format(**fields)

    def pick(self, words: tuple[str, str]) -> str:
        return words[0] if self.lang == "zh" else words[1]

    def time(self, instant: str) -> str:
        """An evidence timestamp ("2026-11-25T01:37:00.000123Z") in the policy's zone, to the second."""
        try:
            return format_datetime(parse_time(instant), "yyyy-MM-dd HH:mm:ss", tzinfo=self.zone, locale=self.lang)
        except (ValueError, TypeError):
            return instant


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _title(view: PageView, check: Check) -> str:
    return CHECK_TITLES_ZH.get(check.name, check.title) if view.lang == "zh" else check.title


def _summary(view: PageView, check: Check) -> str:
    if view.lang == "zh":
        return CHECK_SUMMARIES_ZH.get((check.name, check.status), check.summary)
    return check.summary


def _verdict(view: PageView, checks: list[Check]) -> tuple[bool, str]:
    """The headline: the checks' own verdict (English), or the same sentence built in Chinese."""
    verdict = overall_verdict(checks)
    if view.lang == "en":
        text = verdict.headline
    else:
        def titles(wanted: CheckStatus) -> str:
            return "；".join(_title(view, c) for c in checks if c.status == wanted)

        if not verdict.ok:
            text = view.word("verdict.failed", titles=titles(CheckStatus.FAIL))
        elif verdict.warnings:
            text = view.word("verdict.notes", titles=titles(CheckStatus.WARN))
        else:
            text = view.word("verdict.passed")
        if verdict.ok and any(c.status == CheckStatus.SKIP for c in checks):
            text += view.word("verdict.skipped", titles=titles(CheckStatus.SKIP))
    if not verdict.ok:
        return False, "✘ " + text
    return True, f"✔ {text} {view.word('verdict.genuine')}"


def _kind_words(view: PageView, m: dict[str, Any]) -> str:
    kind = str(m.get("kind"))
    words = view.pick(KIND_WORDS[kind]) if kind in KIND_WORDS else kind.replace("_", " ")
    clock = m.get("data", {}).get("clock") if isinstance(m.get("data"), dict) else None
    if clock in CLOCK_WORDS and kind in ("sla_breach", "sla_warning"):
        clock_words = view.pick(CLOCK_WORDS[clock])
        words += f"（{clock_words}）" if view.lang == "zh" else f" ({clock_words})"
    return words


def _render_check(view: PageView, check: Check) -> str:
    mark, states = STATUS_WORDS[check.status]
    details = "".join(f"<li>{_e(d)}</li>" for d in check.details[:50])
    # Detail lines are the checks' own (English, mostly hashes and numbers).
    details_list = f'<ul lang="en">{details}</ul>' if details else ""
    return (f'<section class="check {check.status.value}" data-check="{_e(check.name)}" '
            f'data-status="{check.status.value}"><h2><span class="mark">{mark}</span>{_e(_title(view, check))}'
            f'{view.word("colon")}'
            f'<span class="state">{_e(view.pick(states))}</span></h2><p>{_e(_summary(view, check))}</p>'
            f"{details_list}</section>")


def _render_milestones(view: PageView, cert: dict[str, Any]) -> str:
    zone = get_timezone_name(view.zone, locale=view.lang)
    labels = [view.word("steps.seq"), view.word("steps.step"), view.word("steps.time", zone=zone),
              view.word("steps.leaf"), view.word("steps.batch")]
    rows = []
    for m in cert.get("milestones", []):
        if not isinstance(m, dict):
            continue
        cells = [_e(m.get("seq")), _e(_kind_words(view, m)), _e(view.time(str(m.get("at")))),
                 f"<code>{_e(str(m.get('leaf'))[:18])}…</code>", _e(m.get("batch_no"))]
        # data-label: on a phone each row becomes a card whose cells name themselves (verify.css).
        rows.append("<tr>" + "".join(f'<td data-label="{_e(label)}">{cell}</td>'
                                     for label, cell in zip(labels, cells, strict=True)) + "</tr>")
    head = "".join(f"<th>{_e(label)}</th>" for label in labels)
    return (f'<h2>{_e(view.word("steps.heading"))}</h2><table class="steps"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _render_vouchers(view: PageView, cert: dict[str, Any]) -> str:
    items = []
    for v in cert.get("vouchers", []):
        if not isinstance(v, dict):
            continue
        try:
            amount = format_money(int(v.get("amount", 0)), str(v.get("currency") or ""), view.lang)
        except (TypeError, ValueError):
            amount = str(v.get("amount"))
        clock = str(v.get("breach"))
        clock_words = view.pick(CLOCK_WORDS[clock]) if clock in CLOCK_WORDS else clock
        row = view.word("vouchers.row", voucher_id=v.get("voucher_id"), amount=amount, clock=clock_words)
        items.append(f'<li data-voucher="{_e(v.get("voucher_id"))}">{_e(row)}</li>')
    if not items:
        return ""
    return f'<h2>{_e(view.word("vouchers.heading"))}</h2><ul class="vouchers">{"".join(items)}</ul>'


def _render_switch(view: PageView) -> str:
    links = []
    for lang in LANGUAGES:
        name = _e(LANGUAGE_NAMES[lang])
        if lang == view.lang:
            links.append(f'<strong lang="{HTML_LANG[lang]}">{name}</strong>')
        else:
            href = "?" + urlencode({**view.query, "lang": lang})
            links.append(f'<a href="{_e(href)}" hreflang="{HTML_LANG[lang]}" lang="{HTML_LANG[lang]}" '
                         f'data-lang="{lang}">{name}</a>')
    return f'<nav class="lang" aria-label="{_e(view.word("language"))}">{" | ".join(links)}</nav>'


def _render_form(view: PageView) -> str:
    return (f'<h2>{_e(view.word("form.heading"))}</h2>'
            f'<form method="post" action="/verify?lang={view.lang}" enctype="multipart/form-data">'
            '<input type="file" name="certificate" accept="application/json,.json" required> '
            f'<button type="submit">{_e(view.word("form.button"))}</button></form>')


def render_page(page: PageModel | None, view: PageView) -> str:
    """Render the verification page (or the bare upload form when ``page`` is ``None``).

    Args:
        page: The checks and what they were about.
        view: The reader's language and the policy's time zone.

    Returns:
        A complete UTF-8 HTML document.
    """
    parts = [f'<!doctype html><html lang="{HTML_LANG[view.lang]}"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f'<title>{_e(view.word("title"))}</title>',
             '<link rel="stylesheet" href="/assets/verify.css"></head><body>', _render_switch(view)]
    if page is None:
        parts.append(f'<h1>{_e(view.word("title"))}</h1><p class="sub">{_e(view.word("intro.upload"))}</p>')
        parts.append(_render_form(view))
    else:
        ok, verdict_text = _verdict(view, page.checks)
        parts.append(f'<h1>{_e(view.word("heading." + page.heading))}</h1>')
        if page.ticket_id:
            parts.append(f'<p class="sub">{_e(view.word("ticket"))} <code>{_e(page.ticket_id)}</code></p>')
        parts.append(f'<div class="verdict {"ok" if ok else "bad"}" id="verdict" data-verdict='
                     f'"{"verified" if ok else "failed"}">{_e(verdict_text)}</div>')
        for note in page.notes:
            fields = {k: view.time(v) if k == "as_of" else v for k, v in note.fields.items()}
            parts.append(f'<p class="note">{_e(view.word("note." + note.name, **fields))}</p>')
        parts.extend(_render_check(view, c) for c in page.checks)
        if page.cert is not None:
            parts.append(_render_vouchers(view, page.cert))
            parts.append(_render_milestones(view, page.cert))
        tool = "<code>qualitrail audit verify</code>"
        parts.append(f'<p class="note">{_e(view.word("note.auditor", tool="{tool}")).format(tool=tool)}</p>')
        parts.append(_render_form(view))
    parts.append("</body></html>")
    return "".join(parts)
