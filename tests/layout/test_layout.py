"""The layout keeps its promises: each package holds one kind of thing, and the docs name real code.

These read the tree as a newcomer would. ``docs/architecture.md`` is checked against it: every
package it lists exists (and every package of ours is listed), and every file and symbol in its
"Where each rule lives" table is defined where it says.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# Our own source, as the line limit and the one-kind-per-package rules see it.
# `mutants/` is mutmut's scratch copy of the tree (make mutate), not source.
NOT_SOURCE = {"tests", "bench", "migrations", "contracts/node_modules", ".venv", "var", "build", "mutants"}
MAX_LINES = 450


def _source_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel == d or rel.startswith(d + "/") for d in NOT_SOURCE) or "/." in "/" + rel:
            continue
        files.append(path)
    return sorted(files)


def _packages() -> set[str]:
    """Top-level folders holding Python code of ours (migrations included; tests and benchmarks not)."""
    return {p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("*/*.py")} - {"tests", "bench", "mutants"}


def _imports(path: Path, tree: ast.AST | None = None) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree or ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _defined(path: Path, symbol: str) -> bool:
    """Whether ``symbol`` (``Name`` or ``Class.method``) is defined at module level of ``path``."""
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in symbol.split("."):
        match = None
        for node in scope:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == part:
                match = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == part for t in targets):
                    match = node
        if match is None:
            return False
        scope = match.body if isinstance(match, ast.ClassDef) else []
    return True


def test_every_module_of_activities_defines_an_activity() -> None:
    for path in sorted((ROOT / "activities").glob("*.py")):
        if path.name == "__init__.py":
            continue
        assert "@activity.defn" in path.read_text(encoding="utf-8"), f"{path.name} defines no activity"


def test_the_api_never_imports_activities() -> None:
    for path in sorted((ROOT / "api").rglob("*.py")):
        bad = {m for m in _imports(path) if m == "activities" or m.startswith("activities.")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_workflows_import_only_what_the_sandbox_may_run() -> None:
    # Pure code, temporalio, and activity definitions (referenced for their names and types only).
    allowed = ("temporalio", "domain", "workflows", "activities", "__future__")
    stdlib = {"asyncio", "dataclasses", "datetime", "typing", "collections", "collections.abc"}
    for path in sorted((ROOT / "workflows").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                node.body = []  # type-only imports never run
        for module in _imports(path, tree):
            assert module in stdlib or module.split(".")[0] in allowed, f"{path.name} imports {module}"


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_is_over_the_line_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{lines} lines"


def _section(title: str) -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/architecture.md has no section '{title}'"
    return match.group(1)


def test_architecture_lists_every_package_and_only_real_ones() -> None:
    listed = set(re.findall(r"^\| `([\w./]+)/` \|", _section("Packages"), re.M))
    assert listed == _packages(), (
        f"listed but missing: {sorted(listed - _packages())}; missing from the table: {sorted(_packages() - listed)}")


def test_every_file_and_symbol_in_the_rule_table_exists() -> None:
    refs = re.findall(r"`([\w/]+\.(?:py|sol|toml))(?::([\w.]+))?`", _section("Where each rule lives"))
    assert len(refs) >= 20, "the table names too few places to be the map it claims to be"
    for file, symbol in refs:
        path = ROOT / file
        assert path.is_file(), f"{file} does not exist"
        if symbol and file.endswith(".py"):
            assert _defined(path, symbol), f"{symbol} is not defined in {file}"
        elif symbol:
            assert re.search(rf"\b{re.escape(symbol)}\b", path.read_text(encoding="utf-8")), f"{symbol} not in {file}"
