"""`qualitrail run` supervises its children: one that dies comes back, the others keep running
(issue 12, item 1). The real command, on free ports in a temporary folder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from settings import ROOT
from tests.helpers import free_port


def _children(pid: int) -> dict[str, int]:
    """The run's direct children by component: api, worker, temporal, anvil."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid != pid:
            continue
        for name, marker in (("api", "uvicorn"), ("worker", "worker.py"), ("temporal", "start-dev"),
                             ("anvil", "anvil")):
            if marker in cmdline:
                found[name] = int(entry.name)
    return found


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def _log(var_dir: Path) -> str:
    path = var_dir / "logs" / "supervisor.log"
    return path.read_text(encoding="utf-8") if path.exists() else "(no supervisor log)"


def _live(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.timeout(240)
def test_a_killed_api_is_restarted_and_the_rest_stays_up(tmp_path: Path) -> None:
    api_port = free_port()
    url = f"http://127.0.0.1:{api_port}"
    args = [sys.executable, "-m", "cli.main", "run", "--var-dir", str(tmp_path), "--api-port", str(api_port),
            "--temporal-port", str(free_port()), "--ui-port", str(free_port()), "--anvil-port", str(free_port()),
            "--mail-port", str(free_port())]
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        run = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "QT_LOG_FORMAT": "text"}, stdout=stdout,
                               stderr=stderr)
    try:
        # The banner comes once the start is over (a crash during the start ends the run, by design).
        _wait(lambda: run.poll() is not None or b"Qualitrail is running" in out.read_bytes(), 150,
              "the stack did not come up")
        assert run.poll() is None, err.read_text(errors="replace")[-2000:]
        before = _children(run.pid)
        # The request that used to kill the API (and with it the whole run) is refused; nothing restarts.
        deep = httpx.post(f"{url}/verify", content=b"[" * 200_000 + b"]" * 200_000, timeout=30,
                          headers={"Content-Type": "application/json"})
        assert deep.status_code == 422 and _children(run.pid) == before
        os.kill(before["api"], signal.SIGKILL)
        _wait(lambda: _children(run.pid).get("api") not in (None, before["api"]) and _live(url), 90,
              f"the API did not come back: {_children(run.pid)} {before} {_log(tmp_path)}")
        after = _children(run.pid)
        assert run.poll() is None  # the stack itself kept running
        assert {k: v for k, v in after.items() if k != "api"} == {k: v for k, v in before.items() if k != "api"}
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200  # worker side: Temporal, DB, chain
        # The supervisor writes "restarted" once its own readiness poll sees the API: that can come
        # a poll (0.2 s) after this test saw it.
        _wait(lambda: "api restarted" in _log(tmp_path), 30, "no restart in the supervisor's log")
        assert "api exited" in _log(tmp_path), _log(tmp_path)
    finally:
        children = _children(run.pid)
        run.send_signal(signal.SIGTERM)  # a service manager's stop
        try:
            stopped = run.wait(60)
        except subprocess.TimeoutExpired:
            stopped = None
            for pid in [run.pid, *children.values()]:  # leave no component running for later tests
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            run.wait()
    assert stopped == 0 and not [p for p in children.values() if Path(f"/proc/{p}").exists()], \
        f"the run should stop all its components on SIGTERM: exit {stopped}, {_children(run.pid)}"
