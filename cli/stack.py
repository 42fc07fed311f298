"""The local stack: Temporal dev server, Anvil, contracts, worker and API as child processes.

`make run` uses it with fixed ports and `var/`; the end-to-end tests use it with free ports and a
temporary folder, so what the tests exercise is what a newcomer runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.common import SearchAttributeIndexedValueType

from contracts.anvil import AnvilProcess, start_anvil
from settings import ROOT, get_settings
from workflows.names import TICKET_SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent
# The CLI's spelling of each search attribute type.
SEARCH_ATTRIBUTE_TYPES = {SearchAttributeIndexedValueType.KEYWORD: "Keyword",
                          SearchAttributeIndexedValueType.BOOL: "Bool"}
# worker.py logs this once it polls its task queue.
WORKER_READY = b"worker polling task queue"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_tcp(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


@dataclass
class StackConfig:
    var_dir: Path
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    anvil_port: int = 8545
    api_port: int = 8000
    # The inbound e-mail receiver (feedback by mail); 0: not started.
    mail_port: int = 8025
    policy_file: Path = ROOT / "config" / "policy.toml"
    ui: bool = True
    namespace: str = "default"
    extra_env: dict[str, str] = field(default_factory=dict)
    # More `temporal server start-dev` flags, e.g. ("--sqlite-pragma", "journal_mode=wal") (bench/api_load.py).
    temporal_args: tuple[str, ...] = ()
    # Supervision (`qualitrail run`): a component that dies is restarted after this delay, doubled
    # after each failed or short-lived run up to the maximum; a run this long resets it.
    restart_delay_seconds: float = 1.0
    restart_delay_max_seconds: float = 30.0
    restart_reset_after_seconds: float = 60.0

    @classmethod
    def ephemeral(cls, var_dir: Path, **kw: object) -> StackConfig:
        """Free ports everywhere: for tests and benchmarks beside a running `make run`."""
        return cls(var_dir=var_dir, temporal_port=free_port(), temporal_ui_port=free_port(),
                   anvil_port=free_port(), api_port=free_port(), mail_port=free_port(), ui=False,
                   **kw)  # type: ignore[arg-type]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.anvil_port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "QT_VAR_DIR": str(self.var_dir),
            "QT_TEMPORAL_ADDRESS": self.temporal_address,
            "QT_RPC_URL": self.rpc_url,
            "QT_API_PORT": str(self.api_port),
            "QT_PUBLIC_BASE_URL": self.api_url,
            "QT_POLICY_FILE": str(self.policy_file),
            "QT_MAIL_PORT": str(self.mail_port),
            "QT_TEMPORAL_NAMESPACE": self.namespace,
            # Pinned tzdata package, not the system's files: replays compute the same deadlines.
            "PYTHONTZPATH": "",
        })
        env.update(self.extra_env)
        return env


class Stack:
    """Starts and stops the whole local stack; each component can be killed and restarted."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = config.var_dir / "logs"
        self.anvil: AnvilProcess | None = None

    # ------------------------------------------------------------------ components

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(args, cwd=ROOT, env=self.config.env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_temporal(self) -> None:
        c = self.config
        args = [str(BIN / "temporal"), "server", "start-dev", "--db-filename", str(c.var_dir / "temporal.db"),
                "--ip", "127.0.0.1", "--port", str(c.temporal_port), "--log-level", "error",
                "--namespace", c.namespace]
        # The ticket search attributes (workflows/names.py), so staff can filter tickets in the UI.
        for key in TICKET_SEARCH_ATTRIBUTES:
            args += ["--search-attribute", f"{key.name}={SEARCH_ATTRIBUTE_TYPES[key.indexed_value_type]}"]
        args += ["--ui-port", str(c.temporal_ui_port)] if c.ui else ["--headless"]
        args += list(c.temporal_args)
        proc = self._spawn("temporal", args)
        _wait_tcp(c.temporal_port, 60, proc)

    def start_anvil(self) -> None:
        c = self.config
        c.var_dir.mkdir(parents=True, exist_ok=True)
        self.anvil = start_anvil(c.anvil_port, state_path=c.var_dir / "anvil-state.json", state_interval=1,
                                 log_path=self.logs / "anvil.log")

    def deploy(self) -> None:
        proc = subprocess.run([sys.executable, "-m", "cli.main", "chain", "deploy"], cwd=ROOT,
                              env=self.config.env(), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"contract deployment failed:\n{proc.stdout}\n{proc.stderr}")

    def start_worker(self, name: str = "worker") -> None:
        """Start a worker and return once it polls: a command sent before that would wait for it
        (a fresh clone's first start compiles every module), and its first state query time out."""
        log = self.logs / f"{name}.log"
        offset = log.stat().st_size if log.exists() else 0  # only lines written by this start count
        proc = self._spawn(name, [sys.executable, str(ROOT / "worker.py")])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: see {log}")
            with open(log, "rb") as f:
                f.seek(offset)
                if WORKER_READY in f.read():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not polling after 60 s: see {log}")

    def start_api(self, ready_path: str = "/health") -> None:
        """Start the API and return once ``ready_path`` answers 200 (``/health``: Temporal, the
        database and the chain too; a restart by the supervisor waits only for ``/health/live``)."""
        c = self.config
        proc = self._spawn("api", [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                                   "--port", str(c.api_port), "--no-access-log",
                                   "--timeout-graceful-shutdown", str(get_settings().api_shutdown_grace_seconds)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"API exited with {proc.returncode}: see {self.logs / 'api.log'}")
            try:
                if httpx.get(f"{c.api_url}{ready_path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"API not healthy after 60 s: see {self.logs / 'api.log'}")

    def start_mail(self) -> None:
        """Start the inbound e-mail receiver and return once it listens."""
        proc = self._spawn("mail", [sys.executable, "-m", "cli.main", "mail"])
        _wait_tcp(self.config.mail_port, 60, proc)

    def start(self) -> Stack:
        try:
            self.start_temporal()
            self.start_anvil()
            self.deploy()
            self.start_worker()
            self.start_api()
            if self.config.mail_port:
                self.start_mail()
        except BaseException:
            self.stop()
            raise
        return self

    # ------------------------------------------------------------------ supervision

    def dead(self) -> list[str]:
        """The components whose process has exited (Anvil included)."""
        gone = [name for name, proc in self.procs.items() if proc.poll() is not None]
        if self.anvil is None or not self.anvil.is_running():
            gone.append("anvil")
        return gone

    def restart(self, name: str) -> None:
        """Start one component again (the others keep running); raises RuntimeError if it fails."""
        if name == "anvil":
            self.kill("anvil")  # reap it; the state file brings the chain back
            self.start_anvil()
        elif name == "temporal":
            self.kill(name)
            self.start_temporal()
        elif name.startswith("worker"):
            self.kill(name)
            self.start_worker(name)
        elif name == "api":
            self.kill(name)
            self.start_api(ready_path="/health/live")
        elif name == "mail":
            self.kill(name)
            self.start_mail()
        else:
            raise ValueError(f"unknown component {name!r}")

    def supervise(self, stop: threading.Event, echo: Callable[[str], None] = print) -> None:
        """Restart each component that dies, with backoff, until ``stop`` is set.

        One crash must not end the stack: the others keep running while the dead one is restarted
        after ``restart_delay_seconds``, doubled after each failure up to the maximum.
        """
        c = self.config

        def log(line: str) -> None:  # to the caller and to logs/supervisor.log, with the time
            echo(line)
            with open(self.logs / "supervisor.log", "a", encoding="utf-8") as f:
                f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")

        delay = dict.fromkeys([*self.procs, "anvil"], c.restart_delay_seconds)
        started = dict.fromkeys(delay, time.monotonic())
        due: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for name in self.dead():
                if name in due:
                    continue
                ran = now - started.get(name, now)
                if ran >= c.restart_reset_after_seconds:
                    delay[name] = c.restart_delay_seconds
                due[name] = now + delay.get(name, c.restart_delay_seconds)
                log(f"supervisor: {name} exited after {ran:.0f} s; restarting in {due[name] - now:.1f} s")
            for name, at in sorted(due.items(), key=lambda item: item[1]):
                if time.monotonic() < at or stop.is_set():
                    continue
                del due[name]
                try:
                    self.restart(name)
                    log(f"supervisor: {name} restarted")
                except RuntimeError as exc:
                    log(f"supervisor: restarting {name} failed: {exc}")
                started[name] = time.monotonic()
                delay[name] = min(delay.get(name, c.restart_delay_seconds) * 2, c.restart_delay_max_seconds)
            stop.wait(0.2)

    # ------------------------------------------------------------------ chaos and shutdown

    def kill(self, name: str) -> None:
        """SIGKILL one component (a crash)."""
        if name == "anvil":
            if self.anvil is not None:
                self.anvil.kill()
            return
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Graceful stop in two waves: the mail receiver, the API and the workers together (each
        finishes its work against Temporal), then Anvil (writes its state) and Temporal last."""
        self._terminate(["mail", "api"] + [n for n in self.procs if n.startswith("worker")])
        if self.anvil is not None:
            self.anvil.stop()
            self.anvil = None
        self._terminate(list(self.procs))

    def _terminate(self, names: list[str]) -> None:
        """SIGTERM each named process group at once, then wait; SIGKILL what is left after 20 s."""
        procs = [p for p in (self.procs.pop(n, None) for n in names) if p is not None and p.poll() is None]
        for proc in procs:
            with suppress(ProcessLookupError):  # exited since poll()
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def temporary_stack(prefix: str, *, keep: bool = False, **config: object) -> Iterator[Stack]:
    """A started stack on free ports in a new temporary folder; stopped afterwards and the folder
    removed, unless ``keep`` (its logs and databases are then left for reading). For benchmarks."""
    var_dir = Path(tempfile.mkdtemp(prefix=prefix))
    print(f"starting the stack in {var_dir}", flush=True)
    try:
        with Stack(StackConfig.ephemeral(var_dir, **config)) as stack:
            yield stack
    finally:
        if keep:
            print(f"kept {var_dir}", flush=True)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
