"""Start and stop a local Anvil node from the pinned npm package ``@foundry-rs/anvil``.

Nothing is downloaded at run time: the native binary comes from ``npm ci`` in ``contracts/``.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["ANVIL_BIN", "AnvilProcess", "anvil_binary", "free_port", "start_anvil"]

CONTRACTS_DIR = Path(__file__).resolve().parent
NODE_MODULES = CONTRACTS_DIR / "node_modules"
ANVIL_BIN = NODE_MODULES / ".bin" / "anvil"

_NPM_PLATFORMS = {
    ("Linux", "x86_64"): "linux-amd64",
    ("Linux", "aarch64"): "linux-arm64",
    ("Linux", "arm64"): "linux-arm64",
    ("Darwin", "x86_64"): "darwin-amd64",
    ("Darwin", "arm64"): "darwin-arm64",
}


def anvil_binary() -> Path:
    """Return the native Anvil executable installed by npm.

    ``node_modules/.bin/anvil`` is a Node launcher that spawns the native binary. We run the
    native binary itself: a SIGKILL sent to the launcher would orphan the real node (it keeps
    the port and the state file), and on SIGTERM the launcher exits before the child has
    written its ``--state`` file, so waiting on the launcher would not mean the state is saved.

    Returns:
        The path of the native ``anvil`` binary (the launcher only if no native one is found).

    Raises:
        FileNotFoundError: If the npm package is not installed.
    """
    if not ANVIL_BIN.exists():
        raise FileNotFoundError(
            f"{ANVIL_BIN} not found: run `make install` (or `cd contracts && npm ci`) to install "
            "the pinned @foundry-rs/anvil"
        )
    suffix = _NPM_PLATFORMS.get((platform.system(), platform.machine()))
    candidates = []
    if suffix is not None:
        candidates.append(NODE_MODULES / "@foundry-rs" / f"anvil-{suffix}" / "bin" / "anvil")
    # Where the package's postinstall puts the binary when the platform package is missing.
    candidates.append(NODE_MODULES / "@foundry-rs" / "dist" / "anvil")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return ANVIL_BIN


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Returns:
        The port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like Anvil itself: connections in TIME_WAIT after a restart do not block the port,
        # only a listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _rpc_chain_id(url: str, timeout: float) -> int | None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["result"], 16)
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return None


class AnvilProcess:
    """A running Anvil node.

    Attributes:
        port: The JSON-RPC port on 127.0.0.1.
        chain_id: The chain id Anvil was started with.
        state_path: The ``--state`` file, if any.
        log_path: File receiving Anvil's stdout and stderr.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        port: int,
        chain_id: int,
        state_path: Path | None,
        log_path: Path,
        owns_log: bool = False,
    ) -> None:
        self._process = process
        self._owns_log = owns_log
        self.port = port
        self.chain_id = chain_id
        self.state_path = state_path
        self.log_path = log_path

    @property
    def url(self) -> str:
        """The JSON-RPC URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The operating-system process id."""
        return self._process.pid

    def is_running(self) -> bool:
        """Tell whether the process is still alive.

        Returns:
            ``True`` until the process has exited.
        """
        return self._process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines Anvil printed, for error messages.

        Args:
            lines: How many lines.

        Returns:
            The text, possibly empty.
        """
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> int:
        """Stop gracefully with SIGTERM and wait, so the ``--state`` file is written.

        Falls back to SIGKILL if Anvil does not exit within ``timeout`` seconds.

        Args:
            timeout: Seconds to wait for a graceful exit.

        Returns:
            The exit status.
        """
        if self.is_running():
            self._process.send_signal(signal.SIGTERM)
            try:
                return self._finished(self._process.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                self._process.kill()
        return self._finished(self._process.wait())

    def kill(self) -> int:
        """Kill at once with SIGKILL (a crash: only the last periodic state dump survives).

        Returns:
            The exit status.
        """
        if self.is_running():
            self._process.kill()
        return self._finished(self._process.wait())

    def _finished(self, status: int) -> int:
        # A temporary log we created is removed; a log file the caller named is kept.
        if self._owns_log:
            self.log_path.unlink(missing_ok=True)
        return status

    def __enter__(self) -> AnvilProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_anvil(
    port: int,
    state_path: Path | None = None,
    state_interval: int = 1,
    fork_url: str | None = None,
    chain_id: int = 31337,
    *,
    startup_timeout: float = 30.0,
    log_path: Path | None = None,
) -> AnvilProcess:
    """Start Anvil on 127.0.0.1 and wait until its JSON-RPC answers.

    Args:
        port: TCP port to listen on (see :py:func:`free_port`).
        state_path: File to load the chain from at start and to dump it to; ``None`` keeps the
            chain in memory only.
        state_interval: Seconds between state dumps (only with ``state_path``), so a crash loses
            at most that much; a graceful :py:meth:`AnvilProcess.stop` also dumps.
        fork_url: JSON-RPC URL of a chain to fork, if any.
        chain_id: Chain id to report.
        startup_timeout: Seconds to wait for the JSON-RPC to answer.
        log_path: File for Anvil's output; a temporary file when ``None``.

    Returns:
        The running node.

    Raises:
        FileNotFoundError: If the npm package is not installed.
        RuntimeError: If the port is taken, or Anvil exits or does not answer in time.
    """
    binary = anvil_binary()
    # Otherwise another node already on the port would answer the readiness check for ours.
    if not _port_is_free(port):
        raise RuntimeError(f"port {port} on 127.0.0.1 is already in use")
    args = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id)]
    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        args += ["--state", str(state_path), "--state-interval", str(state_interval)]
    if fork_url is not None:
        args += ["--fork-url", fork_url]
    owns_log = log_path is None
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix=f"anvil-{port}-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    # Output goes to a file, not a pipe: nobody reads a pipe, and a full one would block Anvil.
    with log_path.open("ab") as log:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    node = AnvilProcess(
        process, port=port, chain_id=chain_id, state_path=state_path, log_path=log_path, owns_log=owns_log
    )
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if not node.is_running():
            tail = node.log_tail()
            node.kill()  # reaps the process and removes a temporary log
            raise RuntimeError(f"anvil exited with status {process.returncode} on port {port}:\n{tail}")
        answered = _rpc_chain_id(node.url, timeout=1.0)
        if answered is not None and node.is_running():
            if answered != chain_id:
                node.kill()
                raise RuntimeError(f"port {port} answers chain id {answered}, expected {chain_id}")
            return node
        time.sleep(0.05)
    tail = node.log_tail()
    node.kill()
    raise RuntimeError(f"anvil did not answer on port {port} within {startup_timeout}s:\n{tail}")
