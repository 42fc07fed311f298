"""Root-cause analysis finds what the generator planted (rule 6)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from sklearn.metrics import adjusted_rand_score

from analysis.generator import GeneratedTicket, PlantedTruth, generate
from analysis.root_cause import Cluster, shares
from tests.analysis.conftest import CALENDAR, CONFIG, failure_rows
from tests.helpers import POLICY


def test_the_generator_is_seeded_and_plants_exact_rates(history: tuple[list[GeneratedTicket], PlantedTruth]) -> None:
    tickets, truth = history
    again, _ = generate(CONFIG, CALENDAR)
    assert [(t.id, t.created_at, t.description, t.problem) for t in again[:200]] == \
        [(t.id, t.created_at, t.description, t.problem) for t in tickets[:200]]
    assert truth.failures == 600 and truth.step_share["diagnosis"] == 45.0
    assert (truth.reopen_rate, truth.repeat_rate) == (6.0, 8.0)
    langs = Counter(t.lang for t in tickets)
    assert 0.25 < langs["en"] / len(tickets) < 0.35
    # Holiday peaks: the Spring Festival days (the CN calendar) carry more tickets than ordinary days.
    per_day = Counter(t.created_at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat() for t in tickets)
    holidays = [d for d in CALENDAR.holidays if d.startswith("2026-02") or d.startswith("2026-05-0")]
    ordinary = [n for d, n in per_day.items() if d not in CALENDAR.holidays]
    assert sum(per_day[d] for d in holidays) / len(holidays) > 1.4 * sum(ordinary) / len(ordinary)
    # The weekly pattern: ordinary weekends are quieter than weekdays.
    def mean(days: list[int]) -> float:
        return sum(days) / len(days)
    weekday = [n for d, n in per_day.items() if d not in CALENDAR.holidays and date.fromisoformat(d).weekday() < 5
               and d not in CALENDAR.workdays]
    weekend = [n for d, n in per_day.items() if d not in CALENDAR.holidays and date.fromisoformat(d).weekday() >= 5
               and d not in CALENDAR.workdays]
    assert mean(weekend) < 0.85 * mean(weekday)


def test_the_planted_step_is_flagged_with_its_share() -> None:
    tickets, truth = generate(CONFIG, CALENDAR)
    found = shares(failure_rows(tickets), POLICY.analysis.step_failure_threshold_percent, ZoneInfo("Asia/Shanghai"))
    assert found.flagged_steps == [truth.flagged_step] == ["diagnosis"]
    assert abs(found.by_step["diagnosis"] - truth.step_share["diagnosis"]) <= 2
    assert all(v <= 40 for s, v in found.by_step.items() if s != "diagnosis")
    # Per month and team too: after-sales' slow first responses fall away while the leak
    # misdiagnoses rise, so its first month flags first_response and its last diagnosis.
    after_sales = [r for r in found.by_month_team if r["team"] == "after-sales"]
    assert (after_sales[0]["month"], after_sales[0]["flagged_steps"]) == ("2026-01", ["first_response"])
    assert (after_sales[-1]["month"], after_sales[-1]["flagged_steps"]) == ("2026-06", ["diagnosis"])
    assert not any("diagnosis" in r["flagged_steps"] for r in found.by_month_team  # type: ignore[operator]
                   if r["team"] == "billing")


def test_clusters_match_the_planted_problems_in_chinese_and_english(
        history: tuple[list[GeneratedTicket], PlantedTruth], problems: list[Cluster]) -> None:
    planted = {t.id: (t.problem, t.lang) for t in history[0] if t.failed}
    found = {tid: c.id for c in problems for tid in c.ticket_ids}
    assert set(found) == set(planted)
    for lang in ("zh", "en"):
        ids = sorted(t for t, (_, lg) in planted.items() if lg == lang)
        score = adjusted_rand_score([planted[t][0] for t in ids], [found[t] for t in ids])
        assert score >= 0.7, (lang, score)
    # Each cluster is named by its top terms, in its own language.
    leak = next(c for c in problems if c.lang == "zh" and "漏水" in c.terms)
    assert leak.step == "diagnosis" and leak.examples and leak.size >= 100


def test_the_priority_list_puts_the_planted_worst_first(
        history: tuple[list[GeneratedTicket], PlantedTruth], problems: list[Cluster]) -> None:
    planted = {t.id: t.problem for t in history[0] if t.failed}
    top = problems[0]
    majority, n = Counter(planted[t] for t in top.ticket_ids).most_common(1)[0]
    assert majority == history[1].worst == "leak_misdiagnosis" and n / top.size > 0.9
    assert top.trend > 1 and top.severity > 3  # rising, P1/P2
    assert [c.priority for c in problems] == sorted((c.priority for c in problems), reverse=True)


def test_only_the_cross_department_problem_is_systemic(
        history: tuple[list[GeneratedTicket], PlantedTruth], problems: list[Cluster]) -> None:
    planted = {t.id: t.problem for t in history[0] if t.failed}
    systemic = [c for c in problems if c.systemic]
    assert systemic and {Counter(planted[t] for t in c.ticket_ids).most_common(1)[0][0] for c in systemic} == \
        {"handoff_parcel"}
    assert {c.problem_key for c in systemic} == {systemic[0].problem_key}  # both languages: one problem
    assert all(c.departments == ["after-sales", "logistics"] for c in systemic)
