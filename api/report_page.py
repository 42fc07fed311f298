"""The monthly quality report as a public page (Chinese and English, phone first), charts drawn here as SVG.

Nothing is loaded from outside this server: the charts are inline SVG drawn from the figures, the
stylesheet is ``api/static/report.css`` (the content security policy allows no inline style).
Money is shown by the currency's minor units (``domain/money.py``).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from api.i18n import HTML_LANG, LANGUAGE_NAMES, LANGUAGES
from domain.money import format_money
from domain.report_words import feedback_lines, word

BAR_COLOURS = ("#2f6fb3", "#d9822b")
ROW_HEIGHT = 22


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: str | None) -> float:
    return float(value) if value is not None else 0.0


def sla_chart(rows: list[dict[str, Any]], lang: str) -> str:
    """Horizontal bars: first-response and resolution compliance per team and category (0-100 %)."""
    if not rows:
        return ""
    label_w, bar_w, width = 130, 200, 360
    height = 26 + len(rows) * ROW_HEIGHT * 2
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{_e(word("sla", lang))}</title>']
    for i, clock in enumerate(("first_response", "resolution")):
        x = 4 + i * 150
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{BAR_COLOURS[i]}"/>'
                     f'<text x="{x + 14}" y="13" font-size="11">{_e(word("sla." + clock, lang))}</text>')
    y = 24
    for row in rows:
        parts.append(f'<text x="0" y="{y + 15}" font-size="11">{_e(row["team"])}/{_e(row["category"])}</text>')
        for i, clock in enumerate(("first_response", "resolution")):
            rate = row[clock]["compliance"]
            w = bar_w * _num(rate) / 100
            parts.append(f'<rect x="{label_w}" y="{y + 2 + i * 18}" width="{w:.1f}" height="14" '
                         f'fill="{BAR_COLOURS[i]}"/><text x="{label_w + w + 3:.1f}" y="{y + 13 + i * 18}" '
                         f'font-size="10">{_e(rate if rate is not None else "–")}%</text>')
        y += ROW_HEIGHT * 2
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(problem: dict[str, Any]) -> str:
    """Columns: a problem's rate in earlier months and this one."""
    trend = problem["trend"]
    top = max([_num(t["rate"]) for t in trend] + [1.0])
    width, height, col = 360, 120, 360 // max(len(trend), 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{_e(problem["root_cause"])}</title>']
    for i, t in enumerate(trend):
        h = 70 * _num(t["rate"]) / top
        label = f"{t['rate']}%" if t["rate"] is not None else "–"
        x = i * col + col // 4
        colour = BAR_COLOURS[1] if i == len(trend) - 1 else BAR_COLOURS[0]
        parts.append(f'<rect x="{x}" y="{90 - h:.1f}" width="{col // 2}" height="{h:.1f}" fill="{colour}"/>'
                     f'<text x="{x}" y="{86 - h:.1f}" font-size="11">{_e(label)}</text>'
                     f'<text x="{x}" y="108" font-size="11">{_e(t["month"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _money(amounts: dict[str, int], lang: str) -> str:
    return "，".join(format_money(v, c, lang) for c, v in amounts.items()) if lang == "zh" else \
        ", ".join(format_money(v, c, lang) for c, v in amounts.items())


def _section(key: str, lang: str, body: str, id_: str) -> str:
    return f'<section id="{id_}"><h2>{_e(word(key, lang))}</h2>{body}</section>'


def _p(text: str) -> str:
    return f"<p>{_e(text)}</p>"


def _top(figures: dict[str, Any], lang: str) -> str:
    if not figures["top_problems"]:
        return _p(word("empty", lang))
    out = ["<ol class=\"top\">"]
    for p in figures["top_problems"]:
        arrow = " → ".join(f"{t['rate']}%" if t["rate"] is not None else "–" for t in p["trend"])
        measures = "".join(f"<li>{_e(m['meeting_id'])} {_e(m['title'])} ({_e(m['status'])})</li>"
                           for m in p["measures"]) or f"<li>{_e(word('top.no_measures', lang))}</li>"
        heading = word("top.row", lang, cause=p["root_cause"], failures=p["failures"], rate=p["rate"])
        out.append(f'<li data-cause="{_e(p["root_cause"])}"><h3>{_e(heading)}</h3>'
                   f'<p class="trend">{_e(word("top.trend", lang))}: {_e(arrow)}</p>{trend_chart(p)}'
                   f'<h4>{_e(word("top.measures", lang))}</h4><ul>{measures}</ul></li>')
    out.append("</ol>")
    return "".join(out)


def render_report_page(report: dict[str, Any], lang: str, anchor: dict[str, Any], base: str) -> str:
    """The whole page; ``anchor`` has report_hash, record_hash, leaf and, once anchored, batch/tx/block."""
    f = report["figures"]
    month = report["month"]
    switch = " ".join(f'<a data-lang="{code}" href="{_e(base)}?{urlencode({"lang": code})}">{LANGUAGE_NAMES[code]}</a>'
                      for code in LANGUAGES)
    t = f["tickets"]
    sla_rows = "".join(
        f"<tr><td>{_e(r['team'])}</td><td>{_e(r['category'])}</td><td>{r['tickets']}</td>"
        f"<td>{_e(r['first_response']['compliance'] or '–')}%</td>"
        f"<td>{_e(r['resolution']['compliance'] or '–')}%</td></tr>"
        for r in f["sla"]["by_team_category"])
    sla = (f'<p class="big" id="sla-first">{_e(word("sla.first_response", lang))}: '
           f'{_e(f["sla"]["first_response"]["compliance"] or "–")}%</p>'
           f'<p class="big" id="sla-resolution">{_e(word("sla.resolution", lang))}: '
           f'{_e(f["sla"]["resolution"]["compliance"] or "–")}%</p>{sla_chart(f["sla"]["by_team_category"], lang)}'
           f'<div class="scroll"><table><tr><th>{_e(word("sla.team", lang))}</th><th>{_e(word("sla.category", lang))}'
           f'</th><th>{_e(word("sla.count", lang))}</th><th>{_e(word("sla.first_response", lang))}</th>'
           f'<th>{_e(word("sla.resolution", lang))}</th></tr>{sla_rows}</table></div>')
    v = f["vouchers"]
    sup = f["suppliers"]
    deductions = "".join(f"<li>{_e(d['supplier'])}: {d['count']} / "
                         f"{_e(format_money(d['amount'], d['currency'], lang))}</li>"
                         for d in sup["deductions"]["by_supplier"])
    exits = ", ".join(x["supplier"] for x in sup["exits"]) or word("none", lang)
    mt = f["meetings"]
    meetings = "".join(f"<li>{_e(m['meeting_id'])} {_e(m['title'])} ({_e(m['status'])})</li>" for m in mt["list"])
    sc = f["spot_check"]
    spot = _p(word("spot_check.summary", lang, **sc)) if sc else _p(word("empty", lang))
    ms = f["mystery_shopping"]
    shopping = "".join(f"<li>{_e(x['target'])}: " + ", ".join(f"{_e(c)} {_e(s)}" for c, s in x["mean_scores"].items())
                       + "</li>" for x in ms["targets"])
    veto = ("".join(f"<li>{_e(word('veto.row', lang, **x))}</li>" for x in f["veto"])
            or f"<li>{_e(word('none', lang))}</li>")
    if anchor.get("tx"):
        anchored = _p(word("anchor.batch", lang, batch=anchor["batch"], tx=anchor["tx"], block=anchor["block"]))
    else:
        anchored = _p(word("anchor.pending", lang))
    command = f"qualitrail audit report --month {month} --export report-{month}.json"
    sections = [
        _section("top", lang, _top(f, lang), "top"),
        _section("tickets", lang, _p(f"{word('tickets.total', lang)}: {t['total']}"), "tickets"),
        _section("sla", lang, sla, "sla"),
        _section("rates", lang, _p(f"{word('rate.completion', lang)}: {f['completion']['rate'] or '–'}%")
                 + _p(f"{word('rate.resolution', lang)}: {f['resolution']['rate'] or '–'}%"), "rates"),
        _section("rating", lang, _p(f"{word('rating.average', lang, count=f['rating']['count'])}: "
                                    f"{f['rating']['average'] or '–'}"), "rating"),
        _section("repeat", lang, _p(f"{f['repeat_complaints']['count']} ({f['repeat_complaints']['rate'] or '–'}%)"),
                 "repeat"),
        _section("vouchers", lang, _p(f"{word('vouchers.issued', lang)}: {v['issued']['count']} "
                                      f"{_money(v['issued']['amounts'], lang)}")
                 + _p(f"{word('vouchers.redeemed', lang)}: {v['redeemed']['count']} "
                      f"{_money(v['redeemed']['amounts'], lang)}"), "vouchers"),
        _section("suppliers", lang, _p(word("suppliers.deductions", lang, count=sup["deductions"]["count"]))
                 + f"<ul>{deductions}</ul>" + _p(f"{word('suppliers.exits', lang)}: {exits}"), "suppliers"),
        _section("meetings", lang, _p(word("meetings.summary", lang, **{k: mt[k] for k in
                                                                        ("opened", "solved", "verified", "breached")}))
                 + f"<ul>{meetings}</ul>", "meetings"),
        _section("spot_check", lang, spot, "spot-check"),
        _section("mystery", lang, _p(word("mystery.summary", lang, count=ms["evaluations"])) + f"<ul>{shopping}</ul>",
                 "mystery"),
        _section("veto", lang, f"<ul>{veto}</ul>", "veto"),
        _section("feedback", lang, "".join(_p(x) for x in feedback_lines(f["customer_feedback"], lang))
                 if f.get("customer_feedback") else _p(word("pending", lang)), "feedback"),
        _section("anchor", lang, f'<dl><dt>{_e(word("anchor.hash", lang))}</dt><dd class="hash" id="report-hash">'
                 f'{_e(anchor["report_hash"])}</dd><dt>{_e(word("anchor.record", lang))}</dt><dd class="hash">'
                 f'{_e(anchor["record_hash"])}</dd><dt>{_e(word("anchor.leaf", lang))}</dt><dd class="hash" '
                 f'id="anchor-leaf">{_e(anchor["leaf"])}</dd></dl>{anchored}'
                 + _p(word("anchor.audit", lang, command=command)), "anchor"),
    ]
    links = (f'<a href="{_e(base)}.json">JSON</a> · <a href="{_e(base)}.pdf?lang={lang}">PDF</a> · '
             f'<a href="{_e(base)}/export.json">{_e(word("anchor.export", lang))}</a>')
    return (f'<!doctype html><html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(word("title", lang, month=month))}</title>'
            f'<link rel="stylesheet" href="/assets/report.css"></head><body>'
            f'<nav class="lang">{_e(word("language", lang))}: {switch}</nav>'
            f'<h1>{_e(word("title", lang, month=month))}</h1>{_p(word("intro", lang))}'
            f'<p class="downloads">{_e(word("downloads", lang))}: {links}</p>{"".join(sections)}</body></html>')
