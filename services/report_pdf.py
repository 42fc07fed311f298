"""The monthly quality report as a PDF, Chinese or English (reportlab).

Chinese text uses reportlab's built-in CID font ``STSong-Light`` (Adobe's Asian font pack is named,
not embedded: no font file is downloaded or shipped); English uses Helvetica. Charts are drawn with
reportlab's own shapes from the same figures as the web page. Made once when the month is published
(``readmodel/report.py:publish``) and served as stored.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from domain.money import format_money
from domain.report_words import feedback_lines, word

CJK_FONT = "STSong-Light"
BLUE, ORANGE = colors.HexColor("#2f6fb3"), colors.HexColor("#d9822b")


def _font(lang: str) -> str:
    if lang == "zh":
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT
    return "Helvetica"


def _bars(rows: list[tuple[str, float, str]], font: str, colour: colors.Color) -> Drawing:
    """Horizontal bars of percentages: (label, value 0-100, shown text)."""
    d = Drawing(170 * mm, 8 + 14 * len(rows))
    y = 14 * len(rows) - 6
    for label, value, text in rows:
        d.add(String(0, y + 2, label[:28], fontName=font, fontSize=8))
        d.add(Rect(55 * mm, y, 90 * mm * value / 100, 9, fillColor=colour, strokeColor=None))
        d.add(String(55 * mm + 90 * mm * value / 100 + 3, y + 2, text, fontName=font, fontSize=8))
        y -= 14
    return d


def render_pdf(report: dict[str, Any], lang: str) -> bytes:
    """The report's PDF in ``lang`` ("zh" or "en")."""
    font = _font(lang)
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=17, spaceBefore=8, spaceAfter=3,
                        textColor=BLUE)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK" if lang == "zh" else None)
    f = report["figures"]

    def p(text: str) -> Paragraph:
        return Paragraph(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), body)

    def rate(value: str | None) -> str:
        return f"{value}%" if value is not None else "–"

    story: list[Any] = [Paragraph(word("title", lang, month=report["month"]), h1), p(word("intro", lang))]
    story += [Paragraph(word("top", lang), h2)]
    for problem in f["top_problems"]:
        story.append(p(word("top.row", lang, cause=problem["root_cause"], failures=problem["failures"],
                            rate=problem["rate"])))
        story.append(p(f"{word('top.trend', lang)}: " + " → ".join(rate(t["rate"]) for t in problem["trend"])))
        story.append(_bars([(t["month"], float(t["rate"] or 0), rate(t["rate"])) for t in problem["trend"]], font,
                           ORANGE))
        measures = "; ".join(f"{m['meeting_id']} {m['title']} ({m['status']})" for m in problem["measures"])
        story.append(p(f"{word('top.measures', lang)}: {measures or word('top.no_measures', lang)}"))
    if not f["top_problems"]:
        story.append(p(word("empty", lang)))
    story += [Paragraph(word("tickets", lang), h2), p(f"{word('tickets.total', lang)}: {f['tickets']['total']}")]
    story += [Paragraph(word("sla", lang), h2),
              p(f"{word('sla.first_response', lang)}: {rate(f['sla']['first_response']['compliance'])}; "
                f"{word('sla.resolution', lang)}: {rate(f['sla']['resolution']['compliance'])}")]
    for clock, colour in (("first_response", BLUE), ("resolution", ORANGE)):
        rows = [(f"{r['team']}/{r['category']}", float(r[clock]["compliance"] or 0), rate(r[clock]["compliance"]))
                for r in f["sla"]["by_team_category"]]
        if rows:
            story += [p(word("sla." + clock, lang)), _bars(rows, font, colour)]
    v = f["vouchers"]

    def money(amounts: dict[str, int]) -> str:
        return ", ".join(format_money(a, c, lang) for c, a in amounts.items())

    sup, mt, sc, ms = f["suppliers"], f["meetings"], f["spot_check"], f["mystery_shopping"]
    story += [
        Paragraph(word("rates", lang), h2), p(f"{word('rate.completion', lang)}: {rate(f['completion']['rate'])}"),
        p(f"{word('rate.resolution', lang)}: {rate(f['resolution']['rate'])}"),
        Paragraph(word("rating", lang), h2),
        p(f"{word('rating.average', lang, count=f['rating']['count'])}: {f['rating']['average'] or '–'}"),
        Paragraph(word("repeat", lang), h2),
        p(f"{f['repeat_complaints']['count']} ({rate(f['repeat_complaints']['rate'])})"),
        Paragraph(word("vouchers", lang), h2),
        p(f"{word('vouchers.issued', lang)}: {v['issued']['count']} {money(v['issued']['amounts'])}"),
        p(f"{word('vouchers.redeemed', lang)}: {v['redeemed']['count']} {money(v['redeemed']['amounts'])}"),
        Paragraph(word("suppliers", lang), h2), p(word("suppliers.deductions", lang, count=sup["deductions"]["count"])),
    ]
    story += [p(f"{d['supplier']}: {d['count']} / {format_money(d['amount'], d['currency'], lang)}")
              for d in sup["deductions"]["by_supplier"]]
    story += [p(f"{word('suppliers.exits', lang)}: "
                f"{', '.join(x['supplier'] for x in sup['exits']) or word('none', lang)}"),
              Paragraph(word("meetings", lang), h2),
              p(word("meetings.summary", lang, **{k: mt[k] for k in ("opened", "solved", "verified", "breached")}))]
    story += [p(f"{m['meeting_id']} {m['title']} ({m['status']})") for m in mt["list"]]
    story += [Paragraph(word("spot_check", lang), h2),
              p(word("spot_check.summary", lang, **sc) if sc else word("empty", lang)),
              Paragraph(word("mystery", lang), h2), p(word("mystery.summary", lang, count=ms["evaluations"]))]
    story += [p(f"{x['target']}: " + ", ".join(f"{c} {s}" for c, s in x["mean_scores"].items())) for x in ms["targets"]]
    story += [Paragraph(word("veto", lang), h2)]
    story += [p(word("veto.row", lang, **x)) for x in f["veto"]] or [p(word("none", lang))]
    cf = f.get("customer_feedback")
    story += [Paragraph(word("feedback", lang), h2)]
    story += [p(x) for x in feedback_lines(cf, lang)] if cf else [p(word("pending", lang))]
    story += [Spacer(1, 4 * mm),
              Paragraph(word("anchor", lang), h2), p(f"{word('anchor.record', lang)}: {report['record_hash']}")]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=word("title", lang, month=report["month"]),
                      leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
                      invariant=1).build(story)
    return out.getvalue()
