"""Root-cause analysis (rule 6): failure shares per process step and root cause, recurring problems.

Pure: the read model hands in rows (readmodel/analysis.py), this returns what is stored and served.

- A *failure* is a ticket that breached a target, was reopened or is a repeat complaint, or that a
  spot check found a deviation in. Its *step* is the process step the failure is recorded against.
- Shares: each step's and each root cause's share of failures, overall and per month and team; a
  step above the policy's threshold (``[analysis] step_failure_threshold_percent``) is flagged.
- Recurring problems: the failed tickets' texts, per language (Chinese segmented by jieba), as TF-IDF
  vectors clustered by k-means with a fixed seed; k is chosen by the silhouette score. Each cluster is
  named by its top terms and has a size, a trend (its tickets in the last ``trend_days`` against the
  ``trend_days`` before, smoothed), a severity (mean of its priorities) and example tickets; the
  priority list orders them by size x severity x trend.
- A problem is systemic when its tickets span two or more departments (each holding at least
  ``cross_department_min_share_percent`` of them) or it recurs at least ``recurring_per_window``
  times in the last window; clusters of both languages with the same departments, step and root
  cause are one problem (``problem_key``), so it is proposed to the joint meeting once.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from analysis.clustering import cluster_language
from analysis.problem_share import FailureRow, share_of_failures
from analysis.text import language

SEVERITY = {"P1": 4.0, "P2": 3.0, "P3": 2.0, "P4": 1.0}  # the policy's default ([analysis] severity)


@dataclass(frozen=True)
class AnalysisParams:
    step_failure_threshold_percent: float = 40.0
    max_clusters: int = 10
    cluster_sample: int = 20000
    seed: int = 42
    trend_days: int = 28
    cross_department_min_share_percent: float = 20.0
    recurring_per_window: int = 200
    max_linked_tickets: int = 50
    examples: int = 3
    severity: dict[str, float] = field(default_factory=lambda: dict(SEVERITY))


@dataclass
class Cluster:
    id: str
    name: str
    lang: str
    terms: list[str]
    size: int  # tickets in the analysed sample
    estimated_size: int  # scaled to all failures when the texts were sampled
    recent: int
    previous: int
    trend: float
    severity: float
    priority: float
    departments: list[str]
    step: str | None
    step_share: float  # percent of the cluster's tickets failing at that step
    root_cause: str | None
    category: str
    share_of_failures: float  # percent
    problem_key: str
    systemic: bool
    reasons: list[str]
    examples: list[dict[str, str]]
    ticket_ids: list[str] = field(default_factory=list)


@dataclass
class Shares:
    failures: int
    by_step: dict[str, float]
    by_root_cause: dict[str, float]
    flagged_steps: list[str]
    # rows of {"month", "team", "failures", "by_step", "by_root_cause", "flagged_steps"}
    by_month_team: list[dict[str, object]]


def shares(rows: list[FailureRow], threshold_percent: float, tz: ZoneInfo) -> Shares:
    """Each step's and root cause's percentage of failures, overall and per (month in ``tz``, team)."""
    def pct(counter: Counter[str], total: int) -> dict[str, float]:
        return {k: round(100 * v / total, 2) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))}

    steps: Counter[str] = Counter(r.step or "unknown" for r in rows)
    causes: Counter[str] = Counter(r.root_cause or "unknown" for r in rows)
    groups: dict[tuple[str, str], list[FailureRow]] = defaultdict(list)
    for r in rows:
        groups[(r.created_at.astimezone(tz).strftime("%Y-%m"), r.team)].append(r)
    per: list[dict[str, object]] = []
    for (month, team), members in sorted(groups.items()):
        by_step = pct(Counter(m.step or "unknown" for m in members), len(members))
        per.append({"month": month, "team": team, "failures": len(members), "by_step": by_step,
                    "by_root_cause": pct(Counter(m.root_cause or "unknown" for m in members), len(members)),
                    "flagged_steps": [s for s, v in by_step.items() if v > threshold_percent and s != "unknown"]})
    by_step = pct(steps, len(rows)) if rows else {}
    return Shares(failures=len(rows), by_step=by_step, by_root_cause=pct(causes, len(rows)) if rows else {},
                  flagged_steps=[s for s, v in by_step.items() if v > threshold_percent and s != "unknown"],
                  by_month_team=per)


def problem_key(departments: list[str], step: str | None, root_cause: str | None) -> str:
    """The identity of a systemic problem across runs and languages."""
    raw = "|".join([",".join(sorted(departments)), step or "", root_cause or ""])
    return "P-" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def sample(rows: list[FailureRow], size: int, seed: int) -> list[FailureRow]:
    """A deterministic sample: the ``size`` rows whose keyed hash of the ticket id is smallest."""
    if len(rows) <= size:
        return rows
    def key(r: FailureRow) -> bytes:
        return hashlib.blake2b(r.ticket_id.encode(), key=str(seed).encode(), digest_size=8).digest()
    return sorted(rows, key=key)[:size]


def find_problems(rows: list[FailureRow], params: AnalysisParams, as_of: datetime) -> list[Cluster]:
    """Clusters of the failed tickets' texts, each described, ordered by priority (highest first)."""
    picked = sample(rows, params.cluster_sample, params.seed)
    scale = len(rows) / len(picked) if picked else 1.0
    by_lang: dict[str, list[FailureRow]] = defaultdict(list)
    for r in picked:
        by_lang[language(r.text)].append(r)
    clusters: list[Cluster] = []
    for lang in sorted(by_lang):
        members = by_lang[lang]
        labels, terms = cluster_language([r.text for r in members], lang, params.max_clusters, params.seed)
        for label in sorted(set(labels)):
            group = [r for r, lab in zip(members, labels, strict=True) if lab == label]
            clusters.append(_describe(f"{lang}-{label}", lang, terms[label], group, scale, len(rows), params, as_of))
    clusters.sort(key=lambda c: (-c.priority, c.id))
    return clusters


def _describe(cid: str, lang: str, terms: list[str], group: list[FailureRow], scale: float, failures: int,
              params: AnalysisParams, as_of: datetime) -> Cluster:
    window = timedelta(days=params.trend_days)
    recent = sum(1 for r in group if as_of - window < r.created_at <= as_of)
    previous = sum(1 for r in group if as_of - 2 * window < r.created_at <= as_of - window)
    trend = round((recent + 1) / (previous + 1), 3)
    severity = round(sum(params.severity.get(r.priority, 1.0) for r in group) / len(group), 3)
    estimated = round(len(group) * scale)
    teams = Counter(r.team for r in group)
    least = params.cross_department_min_share_percent
    departments = sorted(t for t, n in teams.items() if 100 * n / len(group) >= least)
    step, step_n = Counter(r.step for r in group).most_common(1)[0]
    root_cause = Counter(r.root_cause for r in group).most_common(1)[0][0]
    category = Counter(r.category for r in group).most_common(1)[0][0]
    reasons = []
    if len(departments) >= 2:
        reasons.append(f"spans {len(departments)} departments: {', '.join(departments)}")
    if recent * scale >= params.recurring_per_window:
        reasons.append(f"{round(recent * scale)} tickets in the last {params.trend_days} days "
                       f"(threshold {params.recurring_per_window})")
    ordered = sorted(group, key=lambda r: (r.created_at, r.ticket_id), reverse=True)
    return Cluster(
        id=cid, name=" / ".join(terms[:3]), lang=lang, terms=terms, size=len(group), estimated_size=estimated,
        recent=round(recent * scale), previous=round(previous * scale), trend=trend, severity=severity,
        priority=round(estimated * severity * trend, 2), departments=departments, step=step,
        step_share=round(100 * step_n / len(group), 2), root_cause=root_cause, category=category,
        share_of_failures=share_of_failures(estimated, failures),
        problem_key=problem_key(departments, step, root_cause), systemic=bool(reasons), reasons=reasons,
        examples=[{"ticket_id": r.ticket_id, "text": r.text[:200]} for r in ordered[: params.examples]],
        ticket_ids=[r.ticket_id for r in ordered])


@dataclass
class Proposal:
    """A systemic problem proposed to the quality committee, with its evidence."""

    problem_key: str
    title: str
    departments: list[str]
    step: str | None
    root_cause: str | None
    category: str
    reasons: list[str]
    clusters: list[str]
    share_of_failures: float
    tickets: int
    ticket_ids: list[str]  # the most recent ones, at most max_linked_tickets


def proposals(clusters: list[Cluster], params: AnalysisParams) -> list[Proposal]:
    """One proposal per systemic problem (clusters of both languages with one key merge)."""
    merged: dict[str, list[Cluster]] = defaultdict(list)
    for c in clusters:
        if c.systemic:
            merged[c.problem_key].append(c)
    out = []
    for key, group in merged.items():
        ids = sorted({t for c in group for t in c.ticket_ids}, reverse=True)
        main = max(group, key=lambda c: c.size)
        departments = sorted({d for c in group for d in c.departments})
        out.append(Proposal(
            problem_key=key, title=f"{main.name} ({main.step}, {main.root_cause})", departments=departments,
            step=main.step, root_cause=main.root_cause, category=main.category,
            reasons=sorted({r for c in group for r in c.reasons}), clusters=[c.id for c in group],
            share_of_failures=round(sum(c.share_of_failures for c in group), 2),
            tickets=sum(c.estimated_size for c in group), ticket_ids=ids[: params.max_linked_tickets]))
    return sorted(out, key=lambda p: p.problem_key)


def to_json(shares_: Shares, clusters: list[Cluster], stored_ticket_ids: int = 20) -> dict[str, object]:
    """What is stored and served: clusters keep only their newest ``stored_ticket_ids`` ticket ids."""
    out = []
    for c in clusters:
        d = asdict(c)
        d["ticket_ids"] = c.ticket_ids[:stored_ticket_ids]
        out.append(d)
    return {"shares": asdict(shares_), "problems": out}
