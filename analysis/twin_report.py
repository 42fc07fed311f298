"""The digital twin's report: breach rate per target, voucher cost and bottleneck steps, per policy.

Pure code over what each scenario did (``Played``-like records: label, scenario, breaches, voucher
amount, share of each target used). Saved as JSON and as a page in Chinese and English that loads
nothing from outside (inline style, readable at phone width).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from analysis.twin import CLOCKS, Scenario
from domain.money import format_money

__all__ = ["Outcome", "render_html", "summarize"]


class Outcome(Protocol):
    label: str
    scenario: Scenario
    breaches: list[str]
    voucher_minor: int


@dataclass(frozen=True)
class _Rate:
    breached: int
    total: int

    @property
    def percent(self) -> float:
        return round(100 * self.breached / self.total, 2) if self.total else 0.0


def _rates(outcomes: Sequence[Outcome]) -> dict[str, float]:
    n = len(outcomes)
    rates: dict[str, float] = {clock: _Rate(sum(clock in o.breaches for o in outcomes), n).percent for clock in CLOCKS}
    rates["any"] = _Rate(sum(bool(o.breaches) for o in outcomes), n).percent
    return rates


def summarize(outcomes: Sequence[Outcome], *, baseline: str, currency: str, bottleneck_percent: float,
              meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report as a JSON-able dict; ``baseline`` is the label of the current policy."""
    by_label: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_label[o.label].append(o)
    policies: dict[str, dict[str, Any]] = {}
    for label, group in sorted(by_label.items()):
        steps: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
        for o in group:
            steps[("*", "*")].append(o)
            steps[(o.scenario.team, o.scenario.priority)].append(o)
        step_rows = []
        for (team, priority), members in sorted(steps.items()):
            if team == "*":
                continue
            for clock in CLOCKS:
                rate = _Rate(sum(clock in o.breaches for o in members), len(members)).percent
                step_rows.append({"team": team, "priority": priority, "step": clock, "tickets": len(members),
                                  "breach_percent": rate})
        cost = sum(o.voucher_minor for o in group)
        policies[label] = {
            "scenarios": len(group),
            "breach_percent": _rates(group),
            "breach_percent_by_priority": {p: _rates([o for o in group if o.scenario.priority == p])
                                           for p in sorted({o.scenario.priority for o in group})},
            "voucher_cost_minor": cost,
            "voucher_cost": {"en": format_money(cost, currency, "en"), "zh": format_money(cost, currency, "zh")},
            "steps": step_rows,
        }
    base_steps = {(r["team"], r["priority"], r["step"]): r["breach_percent"]
                  for r in policies.get(baseline, {}).get("steps", [])}
    for label, report in policies.items():
        bottlenecks = []
        for row in report["steps"]:
            before = base_steps.get((row["team"], row["priority"], row["step"]), 0.0)
            if row["breach_percent"] >= bottleneck_percent:
                bottlenecks.append({**row, "change_points": round(row["breach_percent"] - before, 2)})
        bottlenecks.sort(key=lambda r: (-r["breach_percent"], -r["change_points"], r["team"], r["step"]))
        report["bottlenecks"] = bottlenecks
        if label != baseline and baseline in policies:
            report["change_vs_current_points"] = {
                k: round(v - policies[baseline]["breach_percent"][k], 2) for k, v in report["breach_percent"].items()}
    return {"baseline": baseline, "currency": currency, "bottleneck_percent": bottleneck_percent,
            "policies": policies, **(meta or {})}


_TEXT = {
    "en": {"title": "Digital twin report", "policy": "Policy", "scenarios": "Scenarios",
           "first_response": "First-response breaches", "resolution": "Resolution breaches",
           "any": "Tickets with a breach", "cost": "Voucher cost", "bottlenecks": "Bottleneck steps",
           "team": "Team", "priority": "Priority", "step": "Step", "rate": "Breach rate",
           "change": "Change vs current (points)", "none": "No step at or above the threshold.",
           "current": "current", "threshold": "A step is a bottleneck at a breach rate of {p} % or more."},
    "zh": {"title": "数字孪生报告", "policy": "政策", "scenarios": "场景数", "first_response": "首次响应超时率",
           "resolution": "解决超时率", "any": "有超时的工单", "cost": "补偿券成本", "bottlenecks": "瓶颈环节",
           "team": "团队", "priority": "优先级", "step": "环节", "rate": "超时率", "change": "较现行政策变化（百分点）",
           "none": "没有环节达到阈值。", "current": "现行",
           "threshold": "超时率达到 {p}% 或以上的环节视为瓶颈。"},
}
_STEP = {"en": {"first_response": "first response", "resolution": "resolution"},
         "zh": {"first_response": "首次响应", "resolution": "解决"}}


def render_html(report: dict[str, Any], lang: str) -> str:
    """The report as one self-contained page in ``lang`` ("en" or "zh")."""
    t = _TEXT["zh" if lang == "zh" else "en"]
    lang = "zh" if lang == "zh" else "en"
    e = html.escape
    rows = []
    for label, p in report["policies"].items():
        name = f"{label} ({t['current']})" if label == report["baseline"] else label
        b = p["breach_percent"]
        rows.append(f"<tr><td>{e(name)}</td><td>{p['scenarios']}</td><td>{b['first_response']} %</td>"
                    f"<td>{b['resolution']} %</td><td>{b['any']} %</td><td>{e(p['voucher_cost'][lang])}</td></tr>")
    sections = []
    for label, p in report["policies"].items():
        if p["bottlenecks"]:
            body = "".join(
                f"<tr><td>{e(r['team'])}</td><td>{e(r['priority'])}</td><td>{e(_STEP[lang].get(r['step'], r['step']))}"
                f"</td><td>{r['breach_percent']} %</td><td>{r['change_points']:+}</td></tr>" for r in p["bottlenecks"])
            table = (f"<div class=s><table><tr><th>{t['team']}</th><th>{t['priority']}</th><th>{t['step']}</th>"
                     f"<th>{t['rate']}</th><th>{t['change']}</th></tr>{body}</table></div>")
        else:
            table = f"<p>{t['none']}</p>"
        sections.append(f"<h2>{t['bottlenecks']}: {e(label)}</h2>{table}")
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t['title']}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1rem;max-width:60rem}}.s{{overflow-x:auto}}
table{{border-collapse:collapse;min-width:100%}}td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}}
</style></head><body>
<h1>{t['title']}</h1>
<div class=s><table><tr><th>{t['policy']}</th><th>{t['scenarios']}</th><th>{t['first_response']}</th>
<th>{t['resolution']}</th><th>{t['any']}</th><th>{t['cost']}</th></tr>{''.join(rows)}</table></div>
<p>{t['threshold'].format(p=report['bottleneck_percent'])}</p>
{''.join(sections)}
</body></html>
"""
