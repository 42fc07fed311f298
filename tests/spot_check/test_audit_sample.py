"""`qualitrail audit sample` recomputes a month's sample from a real chain and the export, as an
auditor runs it, and fails on a changed seed or a dropped ticket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.spot_check import SpotCheckActivities
from contracts.anvil import AnvilProcess, free_port, start_anvil
from domain.policy import load_policy
from domain.spot_check import SampleRequest
from settings import ROOT
from tests.certificates.world import World, anchor_pending, build_world
from tests.spot_check.planted import plant_month

POLICY_FILE = ROOT / "config" / "policy.toml"
NOT_BEFORE = "2026-12-01T01:00:00.000000Z"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    node: AnvilProcess = start_anvil(free_port())
    try:
        w = build_world(tmp_path_factory.mktemp("sample-audit"), node.url)
        plant_month(w.db_url)
        acts = SpotCheckActivities(w.db_url, POLICY_FILE, w.rpc_url)
        seed = ActivityEnvironment().run(acts.find_seed_block, NOT_BEFORE)
        ActivityEnvironment().run(acts.draw_spot_check_sample, SampleRequest(
            "2026-11", seed, NOT_BEFORE, load_policy(POLICY_FILE).spot_check.to_policy()))
        anchor_pending(w)
        yield w
    finally:
        node.stop()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    return subprocess.run([sys.executable, "-m", "cli.audit", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def export(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "export.jsonl"
    done = run("export", "--out", str(out), "--database-url", world.db_url)
    assert done.returncode == 0, done.stderr
    return out


def audit(world: World, export: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("sample", "--month", "2026-11", "--export", str(export), "--rpc", world.rpc_url,
               "--registry", world.deployment.registry, *extra)


def test_the_sample_is_reproduced_from_the_chain_and_the_export(world: World, export: Path) -> None:
    done = audit(world, export, "--list")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "T-late" not in done.stdout
    assert done.stdout.count("after-sales/after_sales") >= 5 and "billing/complaint" in done.stdout


def _rewrite(export: Path, target: Path, change) -> Path:  # type: ignore[no-untyped-def]
    lines = export.read_text(encoding="utf-8").splitlines()
    kept = [lines[0]] + [json.dumps(r) for r in (change(json.loads(line)) for line in lines[1:]) if r is not None]
    target.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return target


def test_a_changed_seed_is_detected(world: World, export: Path, tmp_path: Path) -> None:
    def reseed(r: dict) -> dict:  # type: ignore[type-arg]
        if r["subject"] == "spotcheck-2026-11":
            r["data"]["seed_hash"] = "0x" + "11" * 32
        return r
    done = audit(world, _rewrite(export, tmp_path / "reseeded.jsonl", reseed))
    assert done.returncode == 1
    assert "FAIL  Every exported milestone hashes to its leaf" in done.stdout
    assert "FAIL  The seed is the first block" in done.stdout


def test_a_dropped_ticket_is_detected(world: World, export: Path, tmp_path: Path) -> None:
    done = audit(world, _rewrite(export, tmp_path / "dropped.jsonl",
                                 lambda r: None if r["subject"] == "T-billing-007" else r))
    assert done.returncode == 1
    assert "FAIL  The month's closed tickets are the ones drawn from" in done.stdout
    assert "PASS  The seed is the first block" in done.stdout
