"""The compose namespace job registers the ticket search attributes, with their types, once.

The job's script runs as compose runs it (sh, the `temporal` CLI on PATH, TEMPORAL_ADDRESS and
NAMESPACE from the environment) against a real dev server started without them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.stack import SEARCH_ATTRIBUTE_TYPES, free_port
from settings import ROOT
from workflows.names import TICKET_SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent
SCRIPT = ROOT / "deploy/temporal/scripts/create-namespace.sh"


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("temporal") / "temporal.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                                 "--port", str(port), "--log-level", "error"], stdout=out, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([str(BIN / "temporal"), "operator", "cluster", "health", "--address", address],
                             capture_output=True).returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _job(address: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "TEMPORAL_ADDRESS": address,
           "NAMESPACE": "qualitrail", "RETRY_SECONDS": "1", "RETRY_ATTEMPTS": "30"}
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


def test_job_registers_the_ticket_search_attributes_once(bare_server: str) -> None:
    first = _job(bare_server)
    assert first.returncode == 0, first.stdout + first.stderr
    listed = subprocess.run([str(BIN / "temporal"), "operator", "search-attribute", "list", "-n", "qualitrail",
                             "--address", bare_server, "-o", "json"], capture_output=True, text=True, check=True)
    registered = json.loads(listed.stdout)["customAttributes"]
    for key in TICKET_SEARCH_ATTRIBUTES:
        type_name = SEARCH_ATTRIBUTE_TYPES[key.indexed_value_type]
        assert registered.get(key.name, "").lower().endswith(type_name.lower()), (key.name, registered)
        assert f"search attribute {key.name} ({type_name}) created" in first.stdout
    again = _job(bare_server)  # a rerun (compose restarts the job) changes nothing and succeeds
    assert again.returncode == 0, again.stdout + again.stderr
    assert "created" not in again.stdout
