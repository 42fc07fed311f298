"""The committed artifacts are exactly what the pinned compiler makes of the sources."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import contracts.compile as compile_mod
from contracts.compile import (
    ARTIFACTS_DIR,
    SOLC_WRAPPER,
    build_artifacts,
    check_artifacts,
    load_artifact,
    source_hashes,
)


@pytest.fixture(scope="module")
def fresh_artifacts() -> dict[str, dict[str, Any]]:
    return build_artifacts()


def test_committed_artifacts_match_a_fresh_compile(fresh_artifacts: dict[str, dict[str, Any]]) -> None:
    committed = {p.stem for p in ARTIFACTS_DIR.glob("*.json")}
    assert committed == set(fresh_artifacts)
    for name, fresh in fresh_artifacts.items():
        on_disk = load_artifact(name)
        assert on_disk["abi"] == fresh["abi"], name
        assert on_disk["bytecode"] == fresh["bytecode"], name
        assert on_disk["deployedBytecode"] == fresh["deployedBytecode"], name
        assert on_disk == fresh, name


def test_artifacts_record_the_source_hashes(fresh_artifacts: dict[str, dict[str, Any]]) -> None:
    hashes = source_hashes()
    assert set(hashes) == {
        "src/AccessControl.sol",
        "src/CompensationVoucher.sol",
        "src/EvidenceRegistry.sol",
        "src/MerkleProof.sol",
        "src/Pausable.sol",
    }
    for name in ("EvidenceRegistry", "CompensationVoucher"):
        artifact = load_artifact(name)
        assert artifact["sources"] == hashes
        assert artifact["compiler"]["version"].startswith("0.8.37+commit.")
        assert artifact["compiler"]["settings"]["metadata"] == {"bytecodeHash": "none"}
        assert len(artifact["bytecode"]) > 2 and len(artifact["deployedBytecode"]) > 2


def test_check_reports_stale_and_missing_artifacts(
    fresh_artifacts: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reuse the module's compile instead of compiling again for each check.
    monkeypatch.setattr(compile_mod, "build_artifacts", lambda: fresh_artifacts)
    compile_mod.write_artifacts(fresh_artifacts, tmp_path)
    assert check_artifacts(tmp_path) == []

    tampered = json.loads((tmp_path / "EvidenceRegistry.json").read_text())
    tampered["bytecode"] = tampered["bytecode"][:-2] + "00"
    (tmp_path / "EvidenceRegistry.json").write_text(json.dumps(tampered))
    (tmp_path / "Pausable.json").unlink()
    (tmp_path / "Gone.json").write_text("{}")
    problems = check_artifacts(tmp_path)
    assert len(problems) == 3
    assert any(p.startswith("EvidenceRegistry.json") for p in problems)
    assert any(p.startswith("Pausable.json: missing") for p in problems)
    assert any(p.startswith("Gone.json") for p in problems)


def test_check_command_exit_status(
    fresh_artifacts: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compile_mod, "build_artifacts", lambda: fresh_artifacts)
    assert compile_mod.main(["--check"]) == 0
    monkeypatch.setattr(compile_mod, "ARTIFACTS_DIR", tmp_path)  # empty: every artifact is missing
    assert compile_mod.main(["--check"]) == 1


def test_wrapper_answers_like_native_solc() -> None:
    out = subprocess.run([str(SOLC_WRAPPER), "--version"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith("Version: 0.8.37+commit.")
    bad = subprocess.run([str(SOLC_WRAPPER), "--bogus"], capture_output=True, text=True)
    assert bad.returncode != 0 and "unrecognised option" in bad.stderr
    # Standard JSON: only JSON on stdout, even with a source error.
    broken = '{"language":"Solidity","sources":{"a.sol":{"content":"contract {"}},"settings":{}}'
    result = subprocess.run(
        [str(SOLC_WRAPPER), "--standard-json"], input=broken, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["errors"][0]["severity"] == "error"
