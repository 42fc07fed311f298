"""`qualitrail run` (what `make run` calls) starts the stack on the policy QT_POLICY_FILE names, unless
the --policy-file flag names another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.main
import cli.stack
from settings import ROOT, get_settings

DEMO = ROOT / "config" / "demo-policy.toml"


class _Started(Exception):
    pass


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[cli.stack.StackConfig]]:
    """Stops `run` at the start of the stack and records its configuration; nothing is spawned."""
    configs: list[cli.stack.StackConfig] = []

    class FakeStack:
        def __init__(self, config: cli.stack.StackConfig) -> None:
            configs.append(config)
            self.procs: dict[str, object] = {}

        def start(self) -> None:
            raise RuntimeError("not started in this test")

        def stop(self) -> None:
            pass

    def no_hard_exit(code: int) -> None:
        raise _Started(code)

    monkeypatch.setattr(cli.stack, "Stack", FakeStack)
    monkeypatch.setattr(cli.main, "_exit", no_hard_exit)
    get_settings.cache_clear()
    yield configs
    get_settings.cache_clear()


def _run(args: list[str], env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli.main.app, ["run", *args], env=env)
    assert isinstance(result.exception, _Started), result.output


def test_environment_names_the_policy(started: list[cli.stack.StackConfig], tmp_path: Path) -> None:
    _run(["--var-dir", str(tmp_path)], {"QT_POLICY_FILE": str(DEMO)})
    assert started[-1].policy_file == DEMO
    assert started[-1].env()["QT_POLICY_FILE"] == str(DEMO)


def test_flag_wins_over_the_environment(started: list[cli.stack.StackConfig], tmp_path: Path) -> None:
    chaos = ROOT / "config" / "chaos-policy.toml"
    _run(["--var-dir", str(tmp_path), "--policy-file", str(chaos)], {"QT_POLICY_FILE": str(DEMO)})
    assert started[-1].policy_file == chaos


def test_default_is_the_company_policy(started: list[cli.stack.StackConfig], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QT_POLICY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file here
    _run(["--var-dir", str(tmp_path)], {})
    assert started[-1].policy_file == ROOT / "config" / "policy.toml"


def test_mail_receiver_port_is_a_flag(started: list[cli.stack.StackConfig], tmp_path: Path) -> None:
    _run(["--var-dir", str(tmp_path), "--mail-port", "2526"], {})
    assert started[-1].mail_port == 2526 and started[-1].env()["QT_MAIL_PORT"] == "2526"
