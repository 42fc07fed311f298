"""The words of the monthly quality report, in Chinese and English: one catalog for the page and the PDF."""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")

# key -> (Chinese, English); templates take str.format fields.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("{month} 月度服务质量报告", "Service quality report, {month}"),
    "intro": ("本报告每月公开发布，所有数字均可由审计工具依据已上链的记录独立复核。",
              "Published every month. Every figure can be recomputed independently from the anchored record "
              "with the auditor tool."),
    "language": ("语言", "Language"),
    "downloads": ("下载", "Download"),
    "tickets": ("工单", "Tickets"),
    "tickets.total": ("本月工单总数", "Tickets opened this month"),
    "sla": ("服务时限达标率", "Service time limits met"),
    "sla.first_response": ("首次响应", "First response"),
    "sla.resolution": ("解决", "Resolution"),
    "sla.team": ("团队", "Team"),
    "sla.category": ("类别", "Category"),
    "sla.count": ("工单数", "Tickets"),
    "sla.detail": ("达标 {met}，超时 {breached}，未结 {pending}", "met {met}, missed {breached}, open {pending}"),
    "rates": ("完成与解决", "Completion and resolution"),
    "rate.completion": ("完成率（已关闭）", "Completion rate (closed)"),
    "rate.resolution": ("解决率（已解决或已关闭）", "Resolution rate (resolved or closed)"),
    "rating": ("客户评分", "Customer rating"),
    "rating.average": ("平均评分（{count} 份评价）", "Average rating ({count} ratings)"),
    "repeat": ("重复投诉", "Repeat complaints"),
    "vouchers": ("补偿代金券", "Compensation vouchers"),
    "vouchers.issued": ("发放", "Issued"),
    "vouchers.redeemed": ("兑付", "Redeemed"),
    "suppliers": ("供应商", "Suppliers"),
    "suppliers.deductions": ("扣款 {count} 笔", "{count} deductions"),
    "suppliers.exits": ("退出的供应商", "Suppliers exited"),
    "meetings": ("问题会诊", "Joint meetings"),
    "meetings.summary": ("新开 {opened}，本月给出方案 {solved}，已验证 {verified}，超时 {breached}",
                         "opened {opened}, solved this month {solved}, verified {verified}, late {breached}"),
    "spot_check": ("抽查", "Spot checks"),
    "spot_check.summary": ("总体 {population}，抽查 {sampled}（{sample_rate}%），已复核 {reviewed}，问题 {findings}",
                           "population {population}, sampled {sampled} ({sample_rate}%), reviewed {reviewed}, "
                           "findings {findings}"),
    "mystery": ("神秘顾客", "Mystery shopping"),
    "mystery.summary": ("评价 {count} 次", "{count} evaluations"),
    "veto": ("质量一票否决名单", "Quality veto list"),
    "veto.row": ("{team}（{year} 年重大投诉 {count} 起，上限 {threshold}）",
                 "{team} ({count} major complaints in {year}, limit {threshold})"),
    "top": ("三大问题", "TOP 3 problems"),
    "top.row": ("{cause}：{failures} 单，占 {rate}%", "{cause}: {failures} tickets, {rate}%"),
    "top.trend": ("趋势", "Trend"),
    "top.measures": ("改进措施", "Improvement measures"),
    "top.no_measures": ("尚无会诊方案", "No joint-meeting solution yet"),
    "feedback": ("客户反馈", "Customer feedback"),
    "feedback.received": ("收到反馈 {received} 条（重复 {duplicates} 条）",
                          "{received} received ({duplicates} duplicates)"),
    "feedback.channels": ("按渠道", "By channel"),
    "feedback.triage": ("分流结果：转工单 {ticket}，并入已有工单 {attached}，建议 {suggestion}，"
                        "垃圾 {spam}，处理中 {pending}",
                        "Triage: ticket {ticket}, attached {attached}, suggestion {suggestion}, spam {spam}, "
                        "pending {pending}"),
    "feedback.observers": ("观察员建议 {received} 条，已答复 {answered} 条，时限内答复 {answered_within_target} 条",
                           "Observer suggestions: {received} received, {answered} answered, "
                           "{answered_within_target} within their target"),
    "channel.web": ("网页", "web"), "channel.app": ("App", "app"), "channel.branch": ("网点", "branch"),
    "channel.email": ("电子邮件", "e-mail"), "channel.observer": ("观察员", "observer"),
    "empty": ("本月无数据。", "Nothing this month."),
    "pending": ("此部分将在客户反馈功能上线后提供。", "This section is filled once feedback intake is live."),
    "anchor": ("存证", "Evidence"),
    "anchor.hash": ("报告哈希", "Report hash"),
    "anchor.record": ("记录哈希", "Record hash"),
    "anchor.export": ("审计导出", "Audit export"),
    "anchor.leaf": ("上链叶子", "Anchored leaf"),
    "anchor.batch": ("批次 {batch}，交易 {tx}，区块 {block}", "batch {batch}, transaction {tx}, block {block}"),
    "anchor.pending": ("等待上链", "Waiting to be anchored"),
    "anchor.audit": ("复核命令：{command}", "Check it yourself: {command}"),
    "none": ("无", "none"),
}


def word(key: str, lang: str, **fields: object) -> str:
    text = WORDS[key][LANGS.index(lang)]
    return text.format(**fields) if fields else text


def feedback_lines(section: dict[str, Any], lang: str) -> list[str]:
    """The customer-feedback section as sentences (page and PDF say the same)."""
    channels = ", ".join(f"{word('channel.' + c, lang) if 'channel.' + c in WORDS else c} {n}"
                         for c, n in section["by_channel"].items()) or word("none", lang)
    return [word("feedback.received", lang, received=section["received"], duplicates=section["duplicates"]),
            f"{word('feedback.channels', lang)}: {channels}",
            word("feedback.triage", lang, **section["triage"]),
            word("feedback.observers", lang, **section["observer_suggestions"])
            + (f" ({section['observer_suggestions']['within_target_rate']}%)"
               if section["observer_suggestions"]["within_target_rate"] else "")]
