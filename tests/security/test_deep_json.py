"""One request must never take the API down: deeply nested JSON (issue 12, item 1).

py_ecc (imported by the eth libraries) raises the recursion limit to 100,000, and ``json.loads`` of
200,000 nested arrays (about 400 KB) then overflows the C stack: the process dies with SIGSEGV.
The API runs here as its own uvicorn process, so a crash shows as a dead server, not a dead test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from settings import RECURSION_LIMIT, ROOT
from temporal.codec import new_key
from tests.helpers import free_port

DEEP = b"[" * 200_000 + b"]" * 200_000
# A public route, the codec routes with and without a key, and a FastAPI-parsed body (64 KiB cap).
CASES = [
    ("/verify", {}, 422, DEEP),
    ("/codec/decode", {}, 401, DEEP),
    ("/codec/encode", {}, 401, DEEP),
    ("/codec/decode", {"X-API-Key": "dev-quality"}, 422, DEEP),
    ("/tickets", {"X-API-Key": "dev-agent"}, 422, b"[" * 32_000 + b"]" * 32_000),
]


@pytest.fixture(scope="module")
def api_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``uvicorn api.main:app`` as `qualitrail api` runs it (lifespan off: no Temporal needed)."""
    port = free_port()
    env = {**os.environ, "QT_VAR_DIR": str(tmp_path_factory.mktemp("deep")), "QT_LOG_FORMAT": "text",
           "QT_PAYLOAD_KEYS": f"k1:{new_key()}"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port),
                             "--lifespan", "off", "--no-access-log"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "API exited"
        try:
            if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "API not up after 60 s"
        time.sleep(0.2)
    yield url, proc
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize(("path", "headers", "expected", "body"), CASES,
                         ids=[f"{p} {'key' if h else 'no key'}" for p, h, _, _ in CASES])
def test_nested_body_is_refused_and_the_server_keeps_answering(
        api_process: tuple[str, subprocess.Popen[bytes]], path: str, headers: dict[str, str], expected: int,
        body: bytes) -> None:
    url, proc = api_process
    try:
        answer = httpx.post(f"{url}{path}", content=body, timeout=30,
                            headers={"Content-Type": "application/json", **headers})
    except httpx.HTTPError as exc:  # the connection dropped: the process is gone
        pytest.fail(f"no answer ({exc!r}); API exit code {proc.poll()}")
    assert answer.status_code == expected, answer.text[:300]
    if expected == 422:
        assert answer.json()["detail"][0]["loc"] == ["body"]  # names the body
    assert httpx.get(f"{url}/health/live", timeout=5).status_code == 200
    assert proc.poll() is None


def test_codec_checks_the_key_before_the_body(api_process: tuple[str, subprocess.Popen[bytes]]) -> None:
    # Not JSON at all: a route that parsed first would answer 422; the key check answers first.
    url, _ = api_process
    answer = httpx.post(f"{url}/codec/decode", content=b"{not json", timeout=10,
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 401, answer.text


def test_codec_names_the_bad_body_field(api_process: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = api_process
    answer = httpx.post(f"{url}/codec/decode", json={"payloads": 3}, headers={"X-API-Key": "dev-quality"},
                        timeout=10)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "payloads"], answer.text


@pytest.mark.parametrize("module", ["api.main", "cli.main"])
def test_entry_points_bound_the_recursion_limit(module: str) -> None:
    code = f"import sys, {module}; import eth_account; print(sys.getrecursionlimit())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    assert int(out.stdout.split()[-1]) == RECURSION_LIMIT


def test_worker_bounds_the_recursion_limit(tmp_path: Path) -> None:
    # main() with the real imports, stopped right after the bound (no Temporal needed).
    code = ("import sys, worker\n"
            "async def stop(settings): print(sys.getrecursionlimit(), flush=True)\n"
            "worker.run_worker = stop\nworker.main()\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_VAR_DIR": str(tmp_path), "QT_LOG_FORMAT": "text"})
    assert out.stdout.split()[-1] == str(RECURSION_LIMIT), out.stderr[-2000:]


def test_uploaded_certificate_file_is_checked_for_depth_before_parsing() -> None:
    # A form upload is not scanned by the middleware: the certificate parser measures it itself.
    # In a child process, as the auditor tool runs it, so a crash cannot end the test run.
    code = ("from domain.certificate import CertificateFormatError, parse_certificate\n"
            "try:\n    parse_certificate(b'[' * 200_000 + b']' * 200_000)\n"
            "except CertificateFormatError as exc:\n    print('refused:', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "refused: nested deeper" in out.stdout, (out.returncode, out.stderr[-500:])
