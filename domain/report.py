"""The monthly public quality report (rule 16): its record, its figures, its hash. Pure code.

The report is computed twice by design. The builder (``readmodel/report.py``) counts with SQL
aggregates and hands the counts to :func:`figures_from_counts`; the auditor
(``qualitrail audit report``) rebuilds the same counts from the exported record, line by line, with
:func:`counts_from_record`, and must arrive at the same figures. Rates are decimal strings rounded
half up (``pct``), so both sides agree to the character. The canonical JSON of the report (sorted
keys, no spaces, ASCII) is what is hashed and anchored; it carries the hash of its record.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

REPORT_FORMAT = 1
REPORT_KIND = "quality_report_published"
# Ticket lines of the record: the columns, in order.
TICKET_COLUMNS = ("id", "team", "category", "status", "first_response", "resolution", "rating", "repeat",
                  "root_cause")
CLOCKS = ("first_response", "resolution")
OUTCOMES = ("met", "breached", "pending")
DONE = ("resolved", "closed")
# The customer-feedback section (rules 14, 15) and its record parts have their own format: a record
# without them (reports published before the section existed) keeps the section empty (None), so
# older reports still recompute to what was published and anchored.
FEEDBACK_FORMAT = 1
# Feedback lines of the record: the columns, in order (no text, no contact: those are personal).
FEEDBACK_COLUMNS = ("ref", "channel", "status", "outcome")
# Observer suggestion lines: the suggestion, its ticket and that ticket's first-response outcome.
SUGGESTION_COLUMNS = ("ref", "ticket_id", "first_response")
TRIAGE_OUTCOMES = ("ticket", "attached", "suggestion", "spam")


def report_subject(month: str) -> str:
    return f"report-{month}"


def canonical(value: Any) -> bytes:
    """The one spelling that is hashed: JSON, sorted keys, no spaces, ASCII escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def digest(value: Any) -> str:
    return "0x" + hashlib.sha256(canonical(value)).hexdigest()


def pct(numerator: int, denominator: int) -> str | None:
    """``numerator / denominator`` as a percentage with one decimal, rounded half up; None when empty."""
    if denominator <= 0:
        return None
    value = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(value)


def mean(total: int, count: int) -> str | None:
    if count <= 0:
        return None
    return str((Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass
class TicketCounts:
    """What the ticket figures are made of: counts per (team, category) and overall."""

    # (team, category) -> clock -> outcome -> count
    sla: dict[tuple[str, str], dict[str, Counter[str]]] = field(default_factory=dict)
    by_status: Counter[str] = field(default_factory=Counter)
    rating_count: int = 0
    rating_sum: int = 0
    repeats: int = 0
    root_causes: Counter[str] = field(default_factory=Counter)

    def add(self, team: str, category: str, status: str, first_response: str, resolution: str, n: int) -> None:
        cell = self.sla.setdefault((team, category), {c: Counter() for c in CLOCKS})
        cell["first_response"][first_response] += n
        cell["resolution"][resolution] += n
        self.by_status[status] += n


def _clock(counter: Counter[str]) -> dict[str, Any]:
    met, breached = counter.get("met", 0), counter.get("breached", 0)
    return {"met": met, "breached": breached, "pending": sum(counter.values()) - met - breached,
            "compliance": pct(met, met + breached)}


def ticket_figures(c: TicketCounts) -> dict[str, Any]:
    total = sum(c.by_status.values())
    counted = total - c.by_status.get("cancelled", 0)
    overall = {k: Counter[str]() for k in CLOCKS}
    rows = []
    for (team, category), cell in sorted(c.sla.items()):
        for k in CLOCKS:
            overall[k].update(cell[k])
        rows.append({"team": team, "category": category, "tickets": sum(cell["first_response"].values()),
                     **{k: _clock(cell[k]) for k in CLOCKS}})
    done = sum(c.by_status.get(s, 0) for s in DONE)
    return {
        "tickets": {"total": total, "by_status": dict(sorted(c.by_status.items()))},
        "sla": {**{k: _clock(overall[k]) for k in CLOCKS}, "by_team_category": rows},
        "completion": {"closed": c.by_status.get("closed", 0), "counted": counted,
                       "rate": pct(c.by_status.get("closed", 0), counted)},
        "resolution": {"resolved": done, "counted": counted, "rate": pct(done, counted)},
        "rating": {"count": c.rating_count, "sum": c.rating_sum, "average": mean(c.rating_sum, c.rating_count)},
        "repeat_complaints": {"count": c.repeats, "rate": pct(c.repeats, total)},
    }


def counts_from_record(record: dict[str, Any]) -> TicketCounts:
    """The ticket counts, one record line at a time (the auditor's way)."""
    c = TicketCounts()
    for line in record["tickets"]:
        row = dict(zip(TICKET_COLUMNS, line, strict=True))
        c.add(row["team"], row["category"], row["status"], row["first_response"], row["resolution"], 1)
        if row["rating"] is not None:
            c.rating_count += 1
            c.rating_sum += int(row["rating"])
        c.repeats += int(row["repeat"])
        if row["root_cause"]:
            c.root_causes[row["root_cause"]] += 1
    return c


def money_totals(lines: list[list[Any]], flag: int) -> dict[str, Any]:
    """Count and amount per currency of voucher lines whose ``flag`` column is set."""
    amounts: Counter[str] = Counter()
    count = 0
    for line in lines:
        if line[flag]:
            count += 1
            amounts[line[2]] += int(line[1])
    return {"count": count, "amounts": dict(sorted(amounts.items()))}


def top_problems(month: str, root_causes: Counter[str], total: int, history: list[list[Any]],
                 meetings: list[list[Any]], size: int = 3) -> list[dict[str, Any]]:
    """The month's most frequent root causes, with their rate in earlier months and the meetings on them.

    ``history`` lines are ``[month, tickets, {root_cause: count}]``; ``meetings`` lines are
    ``[id, title, category, status, breached, opened_in_month, solved_in_month, solved_at, root_causes]``
    (the root causes of the tickets linked to the meeting). Ties rank by name.
    """
    ranked = sorted(root_causes.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
    out = []
    for cause, failures in ranked:
        trend = [{"month": m, "failures": int(counts.get(cause, 0)), "rate": pct(int(counts.get(cause, 0)), n)}
                 for m, n, counts in sorted(history)]
        trend.append({"month": month, "failures": failures, "rate": pct(failures, total)})
        measures = [{"meeting_id": m[0], "title": m[1], "status": m[3], "solved_at": m[7]}
                    for m in meetings if cause in m[8]]
        out.append({"root_cause": cause, "failures": failures, "rate": pct(failures, total), "trend": trend,
                    "measures": measures})
    return out


def supervision_figures(record: dict[str, Any]) -> dict[str, Any]:
    """Vouchers, suppliers, meetings, spot checks, mystery shopping and the veto, from the record."""
    by_supplier: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for _incident, supplier, _severity, amount, currency in record["deductions"]:
        cell = by_supplier[(supplier, currency)]
        cell[0] += 1
        cell[1] += int(amount)
    meetings = record["meetings"]
    spot = record["spot_check"]
    spot_figures = None
    if spot is not None:
        steps = Counter(step for _t, step, _s in spot["findings"])
        severities = Counter(sev for _t, _step, sev in spot["findings"])
        spot_figures = {"population": spot["population"], "sampled": spot["sampled"], "reviewed": spot["reviewed"],
                        "escalated": spot["escalated"], "findings": len(spot["findings"]),
                        "sample_rate": pct(spot["sampled"], spot["population"]),
                        "findings_by_step": dict(sorted(steps.items())),
                        "findings_by_severity": dict(sorted(severities.items()))}
    targets: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(list)
    for _id, kind, target, scores in record["evaluations"]:
        targets[(kind, target)].append(scores)
    shopping = []
    for (kind, target), all_scores in sorted(targets.items()):
        criteria = sorted({c for s in all_scores for c in s})
        shopping.append({"target_kind": kind, "target": target, "evaluations": len(all_scores),
                         "mean_scores": {c: mean(sum(int(s[c]) for s in all_scores if c in s),
                                                 sum(1 for s in all_scores if c in s)) for c in criteria}})
    return {
        "vouchers": {"issued": money_totals(record["vouchers"], 3), "redeemed": money_totals(record["vouchers"], 4)},
        "suppliers": {
            "deductions": {"count": len(record["deductions"]),
                           "by_supplier": [{"supplier": s, "currency": cur, "count": n, "amount": amount}
                                           for (s, cur), (n, amount) in sorted(by_supplier.items())]},
            "exits": [{"supplier": s, "at": at} for s, at in record["exits"]]},
        "meetings": {"opened": sum(m[5] for m in meetings), "solved": sum(m[6] for m in meetings),
                     "verified": sum(1 for m in meetings if m[3] == "verified"),
                     "breached": sum(m[4] for m in meetings),
                     "list": [{"meeting_id": m[0], "title": m[1], "category": m[2], "status": m[3],
                               "breached": bool(m[4]), "solved_at": m[7]} for m in meetings]},
        "spot_check": spot_figures,
        "mystery_shopping": {"evaluations": len(record["evaluations"]), "targets": shopping},
        "veto": [{"team": t, "year": y, "count": n, "threshold": th} for t, y, n, th, eligible in record["veto"]
                 if not eligible],
    }


def feedback_figures(record: dict[str, Any]) -> dict[str, Any] | None:
    """Feedback per channel, triage outcomes, observer suggestions answered within their target.

    A duplicate (the same words again inside the window) is counted as received but is not triaged;
    feedback whose triage has not finished is ``pending``. An observer suggestion is answered when
    its ticket's first response is given, within its target when that clock was met.
    """
    version = record.get("feedback_format")
    if version is None:
        return None
    if version != FEEDBACK_FORMAT:
        raise ValueError(f"feedback_format {version} is not one this code knows")
    lines = [dict(zip(FEEDBACK_COLUMNS, line, strict=True)) for line in record["feedback"]]
    channels = Counter(str(f["channel"]) for f in lines)
    duplicates = sum(1 for f in lines if f["status"] == "duplicate")
    outcomes = Counter(str(f["outcome"]) for f in lines if f["status"] != "duplicate" and f["outcome"])
    triage = {k: outcomes.get(k, 0) for k in TRIAGE_OUTCOMES}
    triage["pending"] = len(lines) - duplicates - sum(outcomes.values())
    suggestions = [dict(zip(SUGGESTION_COLUMNS, line, strict=True)) for line in record["observer_suggestions"]]
    answered = sum(1 for x in suggestions if x["first_response"] in ("met", "breached"))
    within = sum(1 for x in suggestions if x["first_response"] == "met")
    return {"format": version, "received": len(lines), "by_channel": dict(sorted(channels.items())),
            "duplicates": duplicates, "triage": triage,
            "observer_suggestions": {"received": len(suggestions), "answered": answered,
                                     "answered_within_target": within,
                                     "within_target_rate": pct(within, len(suggestions))}}


def figures_from_counts(record: dict[str, Any], counts: TicketCounts) -> dict[str, Any]:
    """Every figure of the report: ticket figures from ``counts``, the rest from the record's small parts."""
    out = ticket_figures(counts)
    out.update(supervision_figures(record))
    out["top_problems"] = top_problems(record["month"], counts.root_causes, out["tickets"]["total"],
                                       record["history"], record["meetings"], int(record["rules"]["top_problems"]))
    out["customer_feedback"] = feedback_figures(record)
    return out


def assemble(record: dict[str, Any], figures: dict[str, Any], record_hash: str) -> dict[str, Any]:
    """The report document that is published, hashed and anchored."""
    return {"format": REPORT_FORMAT, "month": record["month"], "period": record["period"],
            "record_hash": record_hash, "figures": figures}


def record_hash_of(record: dict[str, Any]) -> str:
    return digest(record)


def differences(expected: Any, found: Any, path: str = "") -> list[str]:
    """Paths at which two JSON values differ (the figures an edit changed)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(found), key=str):
            out += differences(expected.get(key), found.get(key), f"{path}.{key}" if path else str(key))
        return out
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        out = []
        for i, (a, b) in enumerate(zip(expected, found, strict=True)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if expected == found else [path or "(document)"]


@dataclass
class ReportMonthInput:
    """The month to publish; empty: the month before the workflow's own time (as the Schedule starts it)."""

    month: str = ""


@dataclass
class ReportPublished:
    month: str
    report_hash: str
    record_hash: str
    milestone_leaf: str
    tickets: int
