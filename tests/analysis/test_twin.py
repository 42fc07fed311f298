"""The digital twin runs the real TicketWorkflow on replayed tickets and predicts breaches (seed 3.1).

Scenarios go through ``TicketWorkflow`` on the time-skipping test server with the stand-in
activities (nothing is written anywhere); the workflow's own clocks decide the breaches.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from analysis.twin import bootstrap, dump_history, generate_history, load_history
from analysis.twin_report import summarize
from cli.twin import policy_of
from cli.twin_run import play
from domain.policy import load_policy, parse_policy
from settings import ROOT

POLICY_TEXT = (ROOT / "config" / "policy.toml").read_text(encoding="utf-8")
CURRENT = load_policy(ROOT / "config" / "policy.toml")
# Stricter: every first response due in a third of the time.
STRICT_TEXT = (POLICY_TEXT.replace("first_response_minutes = 15", "first_response_minutes = 5")
               .replace("first_response_minutes = 30", "first_response_minutes = 10")
               .replace("first_response_minutes = 20", "first_response_minutes = 7")
               .replace("first_response_minutes = 120", "first_response_minutes = 40"))
STRICT = parse_policy(STRICT_TEXT)


def _of(policy):  # type: ignore[no-untyped-def]
    of = policy_of(policy, 2026)
    return lambda s: of(s.category, s.team)


async def test_a_stricter_policy_predicts_more_breaches(own_env: WorkflowEnvironment) -> None:
    history = generate_history(11, 200, policy_of(CURRENT, 2026), days=7)
    scenarios = bootstrap(history, 25, seed=3)
    run = await play(own_env, scenarios, {"current": _of(CURRENT), "strict": _of(STRICT)})
    report = summarize(run.played, baseline="current", currency="CNY", bottleneck_percent=10)
    current, strict = report["policies"]["current"], report["policies"]["strict"]
    assert current["scenarios"] == strict["scenarios"] == 25
    assert strict["breach_percent"]["first_response"] > current["breach_percent"]["first_response"]
    assert strict["breach_percent"]["any"] > current["breach_percent"]["any"]
    assert strict["voucher_cost_minor"] > current["voucher_cost_minor"]
    assert strict["change_vs_current_points"]["first_response"] > 0
    assert any(b["step"] == "first_response" for b in strict["bottlenecks"])
    # Nothing was written anywhere: only the stand-ins were asked.
    assert run.counts["record_ticket"] > 0 and run.counts.get("issue_voucher", 0) >= 1


async def test_backtest_on_a_generated_history_matches_its_recorded_breach_rate(
        own_env: WorkflowEnvironment) -> None:
    history = load_history(dump_history(generate_history(7, 50, policy_of(CURRENT, 2026), days=7)))
    recorded = 100 * sum(bool(h.breaches) for h in history) / len(history)
    assert 10 < recorded < 60  # the history has breaches to predict
    run = await play(own_env, [h.scenario for h in history], {"current": _of(CURRENT)})
    predicted = 100 * sum(bool(p.breaches) for p in run.played) / len(run.played)
    print(f"recorded {recorded:.1f} %, predicted {predicted:.1f} %")
    assert abs(predicted - recorded) <= 2
    assert sum(p.voucher_minor for p in run.played) == pytest.approx(sum(h.voucher_minor for h in history), rel=0.05)


def test_the_command_writes_the_report_in_both_languages(tmp_path: Path) -> None:
    from cli.main import app

    new = tmp_path / "new.toml"
    new.write_text(STRICT_TEXT, encoding="utf-8")
    history = tmp_path / "history.jsonl"
    history.write_text(dump_history(generate_history(5, 60, policy_of(CURRENT, 2026), days=3)), encoding="utf-8")
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["twin", "run", "--policy", str(new), "--scenarios", "12", "--history",
                                      str(history), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["policies"]) == {"current", "new"}
    assert report["policies"]["new"]["scenarios"] == 12
    assert "超时率" in (out / "report.zh.html").read_text(encoding="utf-8")
    assert "Breach rate" in (out / "report.en.html").read_text(encoding="utf-8") or \
        "breaches" in (out / "report.en.html").read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, ["twin", "run", "--policy", str(tmp_path / "missing.toml"), "--scenarios", "1"])
    assert bad.exit_code == 2 and "missing.toml" in bad.output


async def test_several_processes_predict_what_one_does() -> None:
    # Dealt out to more shards than processes, each on a server of its own, every scenario meets
    # the same clocks as in one.
    from datetime import UTC, datetime, timedelta

    from cli.twin import run_twin

    scenarios = bootstrap(generate_history(13, 200, policy_of(CURRENT, 2026), days=3), 30, seed=5)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=30)
    policies = {"current": CURRENT, "strict": STRICT}
    one = await run_twin(scenarios, policies, year=2026, processes=1, start=start)
    # Five shards of at most 7 scenarios, each on a fresh server, two processes taking turns.
    shards = await run_twin(scenarios, policies, year=2026, processes=2, shard_scenarios=7, start=start)
    assert (one["processes"], shards["processes"]) == (1, 2)
    assert (one["shards"], shards["shards"]) == (1, 5)
    for label in policies:
        assert shards["policies"][label]["scenarios"] == 30
        for key in ("breach_percent", "voucher_cost_minor", "bottlenecks"):
            assert shards["policies"][label][key] == one["policies"][label][key], (label, key)
    assert one["policies"]["strict"]["breach_percent"]["any"] > 0
