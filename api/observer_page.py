"""The customer observer's page (rule 15): a suggestion, and during a round a review of a process.

Built on the feedback page's shell and stylesheet (``api/feedback_page.py``): phone first, Chinese
and English, no script. The observer's token arrives in the link and travels back as a form field,
never as a cookie, so a form posted from another site carries no credential (nothing to forge).
Everything the observer typed is escaped.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from api.feedback_page import shell

__all__ = ["observer_page", "problem_page", "review_done_page", "word"]

WORDS: dict[str, tuple[str, str]] = {
    "title": ("观察员", "Customer observer"),
    "hello": ("{name}，感谢您参与服务监督。您的建议会优先答复。",
              "{name}, thank you for observing our service. Your suggestions get a priority answer."),
    "suggest": ("提出建议", "Make a suggestion"),
    "text": ("您的建议", "Your suggestion"),
    "send": ("提交建议", "Send the suggestion"),
    "review": ("{quarter} 季度服务流程评议", "Review of a service process, {quarter}"),
    "review.none": ("当前没有邀请您参加的评议。", "No review round has invited you at the moment."),
    "process": ("服务环节", "Service process"),
    "score": ("评分（1 最差，5 最好）", "Score (1 worst, 5 best)"),
    "comment": ("意见（可选）", "Comment (optional)"),
    "review.send": ("提交评议", "Send the review"),
    "review.done": ("已收到您对“{process}”的评议。谢谢！", "We have your review of “{process}”. Thank you!"),
    "review.refused": ("未能提交评议：{reason}", "The review was not accepted: {reason}"),
    "back": ("返回观察员页面", "Back to the observer page"),
    "errors": ("请检查：", "Please check:"),
    "error.text": ("请填写建议（最多 {max} 字）。", "Write your suggestion (at most {max} characters)."),
    "error.process": ("请选择服务环节。", "Choose a service process."),
    "error.score": ("请选择 1 到 5 的评分。", "Choose a score from 1 to 5."),
    "error.comment": ("意见最多 {max} 字。", "A comment has at most {max} characters."),
    "error.quarter": ("评议季度无效，请从观察员页面重新提交。", "The round is not valid; send it again from the page."),
    "problem.token": ("此链接无效或已过期（token）。请使用邀请中的链接。",
                      "This link is not valid or has expired (token). Use the link from your invitation."),
    "process.intake": ("受理", "Intake"), "process.first_response": ("首次响应", "First response"),
    "process.diagnosis": ("诊断", "Diagnosis"), "process.resolution": ("解决", "Resolution"),
    "process.follow_up": ("回访", "Follow-up"), "process.closure": ("结案", "Closure"),
}
COMMENT_MAX = 2000


def word(key: str, lang: str, **fields: object) -> str:
    zh, en = WORDS[key]
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


def process_name(process: str, lang: str) -> str:
    return word(f"process.{process}", lang) if f"process.{process}" in WORDS else process


def _errors(lang: str, errors: list[str], limits: dict[str, int]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li>{html.escape(word('error.' + e, lang, max=limits.get(e, 0)))}</li>" for e in errors)
    return f'<div class="box err" role="alert"><p>{word("errors", lang)}</p><ul>{items}</ul></div>'


def observer_page(lang: str, *, observer_id: str, name: str, token: str, max_chars: int, quarter: str | None,
                  processes: list[str], errors: list[str] | None = None, values: dict[str, str] | None = None,
                  message: str = "") -> str:
    """The page: the suggestion form, and the review form while a round the observer is invited to is open."""
    v = {k: html.escape(s) for k, s in (values or {}).items()}
    errs = errors or []
    base = f"/observers/{html.escape(observer_id)}/page"
    hidden = (f'<input type="hidden" name="token" value="{html.escape(token)}">'
              f'<input type="hidden" name="lang" value="{lang}">')
    note = f'<div class="box" role="status"><p>{html.escape(message)}</p></div>' if message else ""
    suggestion = (f'<h2>{word("suggest", lang)}</h2>'
                  + _errors(lang, [e for e in errs if e == "text"], {"text": max_chars})
                  + f'<form method="post" action="{base}/suggestion" accept-charset="utf-8">{hidden}'
                  f'<label for="text">{word("text", lang)}</label>'
                  f'<textarea id="text" name="text" maxlength="{max_chars}" required>{v.get("text", "")}</textarea>'
                  f'<button type="submit" id="send">{word("send", lang)}</button></form>')
    if quarter is None:
        review = f'<p class="note" id="no-round">{word("review.none", lang)}</p>'
    else:
        options = "".join(f'<option value="{html.escape(p)}"{" selected" if v.get("process") == p else ""}>'
                          f'{html.escape(process_name(p, lang))}</option>' for p in processes)
        scores = "".join(f'<option value="{n}"{" selected" if v.get("score") == str(n) else ""}>{n}</option>'
                         for n in range(5, 0, -1))
        review = (f'<h2>{html.escape(word("review", lang, quarter=quarter))}</h2>'
                  + _errors(lang, [e for e in errs if e != "text"], {"comment": COMMENT_MAX})
                  + f'<form method="post" action="{base}/review" accept-charset="utf-8">{hidden}'
                  f'<input type="hidden" name="quarter" value="{html.escape(quarter)}">'
                  f'<label for="process">{word("process", lang)}</label>'
                  f'<select id="process" name="process">{options}</select>'
                  f'<label for="score">{word("score", lang)}</label><select id="score" name="score">{scores}</select>'
                  f'<label for="comment">{word("comment", lang)}</label>'
                  f'<textarea id="comment" name="comment" maxlength="{COMMENT_MAX}">{v.get("comment", "")}</textarea>'
                  f'<button type="submit" id="review-send">{word("review.send", lang)}</button></form>')
    body = f'<p>{html.escape(word("hello", lang, name=name))}</p>{note}{suggestion}{review}'
    return shell(lang, word("title", lang), body, path=f"/observers/{observer_id}/page", params={"token": token})


def review_done_page(lang: str, *, observer_id: str, token: str, process: str) -> str:
    back = f"/observers/{observer_id}/page?{urlencode({'token': token, 'lang': lang})}"
    body = (f'<div class="box ok" id="review-done"><p>'
            f'{html.escape(word("review.done", lang, process=process_name(process, lang)))}</p></div>'
            f'<p><a id="back" href="{html.escape(back)}">{word("back", lang)}</a></p>')
    return shell(lang, word("title", lang), body, path=f"/observers/{observer_id}/page", params={"token": token})


def problem_page(lang: str, text: str) -> str:
    """A page that says what is wrong (a bad link, a refused review); no form, nothing echoed unescaped."""
    return shell(lang, word("title", lang), f'<div class="box err" role="alert"><p>{html.escape(text)}</p></div>',
                 path="/feedback")
