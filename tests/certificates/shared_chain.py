"""Anvil nodes with the certificate tests' evidence already on them, shared by many pytest sessions.

``make mutate`` runs one pytest session per mutant (decision 032). Each of those sessions would
otherwise start an Anvil, deploy the contracts and anchor the record (about 3 seconds of the
8 a surviving ``certificates/verify.py`` mutant costs), and a mutant killed for a timeout would
leave its Anvil running. So the run is wrapped::

    python -m tests.certificates.shared_chain --slots 2 -- mutmut run --max-children 2

which starts ``--slots`` real Anvil nodes, builds on each the world and the every-kind voucher
evidence with the genuine code, snapshots each chain, and runs the command with
``QT_CERT_CHAINS`` naming the folder. A session then claims one node for itself (a ``flock``,
released by the kernel even when the session is killed), reverts it to the snapshot taken after the
build (so whatever an earlier session wrote is gone) and takes a new one. Without the variable the
fixtures start their own Anvil, as in ``make test``.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from web3 import Web3

from contracts.anvil import AnvilProcess, free_port, start_anvil
from tests.certificates.world import Evidence, World, build_kinds_evidence, build_world

ENV = "QT_CERT_CHAINS"


@dataclass
class SharedChain:
    """One claimed node: its URL and the evidence built on it before the snapshot."""

    url: str
    world: World
    evidence: Evidence


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    answer = Web3(Web3.HTTPProvider(url)).provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def _slots(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "state.pickle").exists())


@contextmanager
def claim(root: Path) -> Iterator[SharedChain]:
    """Hold a free node of ``root`` for the caller alone, reverted to the state after the build."""
    slots = _slots(root)
    if not slots:
        raise RuntimeError(f"{ENV}={root} holds no prepared node")
    lock: BinaryIO | None = None
    claimed = slots[0]
    while lock is None:
        for slot in slots:
            handle = (slot / "lock").open("wb")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            lock, claimed = handle, slot
            break
        else:
            time.sleep(0.05)  # more sessions than nodes: wait for one to finish
    try:
        with (claimed / "state.pickle").open("rb") as f:
            chain: SharedChain = pickle.load(f)
        snapshot = claimed / "snapshot"
        if not _rpc(chain.url, "evm_revert", [snapshot.read_text()]):
            raise RuntimeError(f"{chain.url}: snapshot {snapshot.read_text()} is gone")
        snapshot.write_text(_rpc(chain.url, "evm_snapshot", []))  # a revert uses the snapshot up
        yield chain
    finally:
        lock.close()


def prepare(root: Path, slots: int) -> list[AnvilProcess]:
    """Start ``slots`` Anvil nodes, build the evidence on each, snapshot them; return the nodes."""
    nodes: list[AnvilProcess] = []
    for i in range(slots):
        node = start_anvil(free_port())
        nodes.append(node)
        slot = root / str(i)
        slot.mkdir(parents=True)
        chain = SharedChain(node.url, build_world(slot / "world", node.url), build_kinds_evidence(node.url))
        (slot / "snapshot").write_text(_rpc(node.url, "evm_snapshot", []))
        with (slot / "state.pickle").open("wb") as f:
            pickle.dump(chain, f)
    return nodes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=2, help="Anvil nodes (at least the sessions run at once)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run with them")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    with tempfile.TemporaryDirectory(prefix="qt-cert-chains-") as tmp:
        root = Path(tmp)
        nodes: list[AnvilProcess] = []
        try:
            nodes = prepare(root, args.slots)
            return subprocess.call(command, env={**os.environ, ENV: str(root)})
        finally:
            for node in nodes:
                node.stop()


if __name__ == "__main__":
    # Through the module's own name, so the pickled SharedChain is not a class of "__main__".
    from tests.certificates import shared_chain

    sys.exit(shared_chain.main())
