"""``qualitrail audit report`` on a published, anchored month (a real Anvil chain and registry), through the
export a real API serves: the recomputation matches; an edited figure, an edited record line or a
report other than the anchored one is detected and named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from cli.audit import audit_app
from settings import ROOT
from tests.report.conftest import Anchored
from tests.report.planted import MONTH


def in_process(a: Anchored, export: Path) -> Result:
    """The same command in this process (typer's runner): quicker for the cases that need no real process."""
    return CliRunner().invoke(audit_app, ["report", "--month", MONTH, "--export", str(export), "--rpc",
                                          a.world.rpc_url, "--registry", a.world.deployment.registry],
                              env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def audit(a: Anchored, export: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, "-m", "cli.audit", "report", "--month", MONTH, "--export", str(export),
                           "--rpc", a.world.rpc_url, "--registry", a.world.deployment.registry, *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_auditor_recomputes_every_figure_and_finds_the_anchor(anchored: Anchored) -> None:
    doc = json.loads(anchored.export.read_text())
    assert doc["anchor"]["tx"].startswith("0x") and doc["anchor"]["proof"] is not None
    run = audit(anchored, anchored.export)
    assert run.returncode == 0, run.stdout + run.stderr
    for line in ("PASS  Every figure recomputes from the record: all figures match",
                 "PASS  The report is the one anchored", "PASS  The milestone is in its batch",
                 "PASS  Anchored on the blockchain: root anchored in block"):
        assert line in run.stdout, run.stdout


def _edited(anchored: Anchored, tmp_path: Path, edit: str) -> Path:
    doc = json.loads(anchored.export.read_text())
    if edit == "figure":
        doc["report"]["figures"]["sla"]["first_response"]["compliance"] = "97.8"
    elif edit == "trend":
        doc["report"]["figures"]["top_problems"][0]["trend"][2]["rate"] = "5.0"
    elif edit == "feedback":
        doc["report"]["figures"]["customer_feedback"]["observer_suggestions"]["answered_within_target"] = 4
    elif edit == "feedback-record":
        f4 = next(line for line in doc["record"]["feedback"] if line[0] == "F4")
        f4[3] = "ticket"  # F4, spam, edited into a ticket
    elif edit == "record":
        doc["record"]["tickets"][0][4] = "met"  # A1's first response stays met; A2's missed one becomes met
        doc["record"]["tickets"][1][4] = "met"
    path = tmp_path / f"export-{edit}.json"
    path.write_text(json.dumps(doc))
    return path


def test_an_edited_figure_in_a_copy_is_detected_and_named(anchored: Anchored, tmp_path: Path) -> None:
    run = audit(anchored, _edited(anchored, tmp_path, "figure"))
    assert run.returncode == 1, run.stdout
    assert "FAIL  Every figure recomputes from the record: 1 figure(s) differ" in run.stdout
    assert "- sla.first_response.compliance" in run.stdout
    assert "FAIL  The report is the one anchored" in run.stdout
    trend = in_process(anchored, _edited(anchored, tmp_path, "trend"))
    assert trend.exit_code == 1 and "- top_problems[0].trend[2].rate" in trend.output


def test_an_edited_feedback_figure_or_line_is_detected(anchored: Anchored, tmp_path: Path) -> None:
    doc = json.loads(anchored.export.read_text())
    assert doc["report"]["figures"]["customer_feedback"]["triage"]["spam"] == 1
    run = in_process(anchored, _edited(anchored, tmp_path, "feedback"))
    assert run.exit_code == 1, run.output
    assert "1 figure(s) differ" in run.output
    assert "- customer_feedback.observer_suggestions.answered_within_target" in run.output
    line = in_process(anchored, _edited(anchored, tmp_path, "feedback-record"))
    assert line.exit_code == 1 and "FAIL  The record is the one the report was computed from" in line.output
    assert "- customer_feedback.triage.spam" in line.output and "- customer_feedback.triage.ticket" in line.output


def test_an_edited_record_line_is_detected(anchored: Anchored, tmp_path: Path) -> None:
    run = audit(anchored, _edited(anchored, tmp_path, "record"))
    assert run.returncode == 1, run.stdout
    assert "FAIL  The record is the one the report was computed from" in run.stdout
    # The figures recomputed from the edited record no longer match the published ones.
    assert "- sla.first_response.breached" in run.stdout


def test_an_unreadable_export_is_refused_clearly(anchored: Anchored, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 10_000 + "]" * 10_000)
    not_json = tmp_path / "x.json"
    not_json.write_bytes(b"\xff\xfe not json")
    for path in (deep, not_json, tmp_path / "missing.json"):
        run = in_process(anchored, path)
        assert run.exit_code == 2 and "error:" in run.output, run.output
        assert isinstance(run.exception, SystemExit)  # a clean exit, not a crash
