"""Customer data never reaches Temporal's history in plain text; staff can still read it via the codec.

A real dev server stores what the clients send. Ticket workflows are started through clients with the
codec (one with the old key only, one after rotation), the raw history is read back with a client that
has no codec, and the codec endpoint is called over real HTTP, as the Temporal UI calls it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.tickets import TicketActivities
from domain.tickets import TicketInput, TicketView
from readmodel.db import init_db
from settings import ROOT
from temporal.codec import ENCODING, KEY_ID_META, data_converter_for, new_key
from tests.helpers import RecordingNotifier, free_port, new_worker, ticket_input, tmp_db_url
from workflows.ticket import TicketWorkflow

K1 = f"k1:{new_key()}"
ROTATED = f"k2:{new_key()},{K1}"  # k2 now encrypts; k1 stays for reading what was written before
UI_ORIGIN = "http://127.0.0.1:8233"


@pytest.fixture(scope="module")
async def raw_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server whose own client has no codec: it sees exactly what the server stores."""
    path = shutil.which("temporal", path=str(Path(sys.executable).parent))
    assert path, "temporal CLI not found next to the interpreter: run `make install`"
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=path, dev_server_log_level="error")
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
def codec_server() -> Iterator[str]:
    """The codec router under uvicorn, configured only through QT_ environment variables."""
    port = free_port()
    env = {**os.environ, "QT_PAYLOAD_KEYS": ROTATED, "QT_TEMPORAL_UI_ORIGIN": UI_ORIGIN, "PYTHONTZPATH": ""}
    env.pop("QT_API_KEYS", None)  # the default dev keys: dev-quality, dev-agent, ...
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.codec.codec_app:app", "--host", "127.0.0.1",
                             "--port", str(port), "--no-access-log"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"codec server exited with {proc.returncode}"
            try:
                if httpx.get(f"{url}/other", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "codec server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def distinctive_ticket() -> TicketInput:
    tag = uuid.uuid4().hex[:10]
    return dataclasses.replace(ticket_input(compensate=False, customer=f"0xcustomer-ref-{tag}"),
                               description=f"Water under the sink at Rue des Secrets {tag}")


def history_bytes(events: Any) -> bytes:
    # Protobuf JSON base64-encodes payload data, so the JSON alone would hide plaintext: check raw bytes too.
    return History(events=events).SerializeToString()


async def recorded(raw: Client, workflow_id: str) -> Any:
    """The raw history once the record_ticket activity (whose input has the description) completed."""
    deadline = time.monotonic() + 30
    while True:
        history = await raw.get_workflow_handle(workflow_id).fetch_history()
        if any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED for e in history.events):
            return history
        assert time.monotonic() < deadline, f"{workflow_id}: record_ticket never completed"
        await asyncio.sleep(0.2)


def ticket_free(text: str, *tickets: TicketInput) -> bool:
    return not any(t.description in text or t.customer_ref_hash in text for t in tickets)


def started_input(history: Any) -> Payload:
    first = history.events[0]
    assert first.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    payload: Payload = first.workflow_execution_started_event_attributes.input.payloads[0]
    return payload


async def test_history_holds_no_plaintext_and_codec_endpoint_decodes_it(
        raw_env: WorkflowEnvironment, codec_server: str, tmp_path: Path) -> None:
    raw = raw_env.client
    old = Client(raw.service_client, namespace=raw.namespace, data_converter=data_converter_for(K1))
    rotated = Client(raw.service_client, namespace=raw.namespace, data_converter=data_converter_for(ROTATED))
    db_url = tmp_db_url(tmp_path)
    init_db(db_url)
    acts, notifier = TicketActivities(db_url), RecordingNotifier()
    queue = str(uuid.uuid4())
    before, after, unencrypted = distinctive_ticket(), distinctive_ticket(), distinctive_ticket()
    handles: list[WorkflowHandle[TicketWorkflow, TicketView]] = []

    async with new_worker(rotated, acts.record_ticket, acts.find_repeat_complaint, notifier.notify,
                          task_queue=queue):
        # Written under k1 before the rotation; the rotated worker must still run it.
        for client, ticket in ((old, before), (rotated, after), (raw, unencrypted)):
            handles.append(await client.start_workflow(TicketWorkflow.run, ticket, id=ticket.ticket_id,
                                                       task_queue=queue))
        histories = [await recorded(raw, t.ticket_id) for t in (before, after, unencrypted)]

        # The codec-enabled client reads state (query arguments and results go through the codec).
        for ticket in (before, after, unencrypted):
            view = await rotated.get_workflow_handle(ticket.ticket_id).query(TicketWorkflow.state)
            assert view.ticket_id == ticket.ticket_id and view.status == "open"
        for handle in handles:
            await handle.terminate("test over")

    for ticket, history, key_id in ((before, histories[0], b"k1"), (after, histories[1], b"k2")):
        as_json, as_bytes = history.to_json(), history_bytes(history.events)
        for secret in (ticket.description, ticket.customer_ref_hash):
            assert secret not in as_json
            assert secret.encode() not in as_bytes
            assert base64.b64encode(secret.encode()).decode()[:16] not in as_json
        assert started_input(history).metadata["encoding"] == ENCODING
        assert started_input(history).metadata[KEY_ID_META] == key_id
    # Control: the same check does see plaintext when a client without the codec starts a ticket.
    assert unencrypted.description.encode() in history_bytes(histories[2].events)
    # The worker's own payloads (activity inputs carrying the description) are encrypted even so.
    scheduled = [e for e in histories[2].events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert scheduled and all(p.metadata["encoding"] == ENCODING
                             for e in scheduled for p in e.activity_task_scheduled_event_attributes.input.payloads)

    # The codec endpoint, as the Temporal UI calls it, on both key generations.
    body = {"payloads": [json_format.MessageToDict(started_input(h)) for h in histories[:2]]}
    async with httpx.AsyncClient(base_url=codec_server, timeout=10) as http:
        ok = await http.post("/codec/decode", json=body, headers={"X-API-Key": "dev-quality", "X-Namespace": "default"})
        assert ok.status_code == 200, ok.text
        decoded = [json_format.ParseDict(p, Payload()) for p in ok.json()["payloads"]]
        for payload, ticket in zip(decoded, (before, after), strict=True):
            assert payload.metadata["encoding"] == b"json/plain"
            assert ticket.description.encode() in payload.data
            assert ticket.customer_ref_hash.encode() in payload.data
        bearer = await http.post("/codec/decode", json=body, headers={"Authorization": "Bearer dev-auditor"})
        assert bearer.status_code == 200 and bearer.json() == ok.json()

        refusals = [("decode", {}, 401), ("decode", {"X-API-Key": "nope"}, 401),
                    ("decode", {"Authorization": "Bearer nope"}, 401),
                    ("decode", {"Authorization": "Basic dev-quality"}, 401),
                    ("decode", {"X-API-Key": "dev-agent"}, 403), ("encode", {"X-API-Key": "dev-agent"}, 403)]
        for path, headers, expected in refusals:
            refused = await http.post(f"/codec/{path}", json=body, headers=headers)
            assert refused.status_code == expected, (path, headers, refused.text)
            assert ticket_free(refused.text, before, after)

    # What staff use from a shell: the temporal CLI shows the history decoded through the same endpoint.
    temporal = shutil.which("temporal", path=str(Path(sys.executable).parent))
    assert temporal
    show = [temporal, "workflow", "show", "-w", before.ticket_id, "--output", "json",
            "--address", raw.service_client.config.target_host, "--namespace", raw.namespace]
    decoded_input = cli_input(await run(*show, "--codec-endpoint", f"{codec_server}/codec",
                                        "--codec-auth", "Bearer dev-quality"))
    assert decoded_input.metadata["encoding"] == b"json/plain"
    assert before.description.encode() in decoded_input.data
    sealed_input = cli_input(await run(*show))
    assert sealed_input.metadata["encoding"] == ENCODING and before.description.encode() not in sealed_input.data


def cli_input(shown: str) -> Payload:
    """The workflow input payload from `temporal workflow show --output json` (protobuf JSON)."""
    started = json.loads(shown)["events"][0]["workflowExecutionStartedEventAttributes"]
    return json_format.ParseDict(started["input"]["payloads"][0], Payload())


async def run(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()

def test_codec_endpoint_round_trip_and_errors(codec_server: str) -> None:
    staff = {"X-API-Key": "dev-supervisor"}
    original = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    with httpx.Client(base_url=codec_server, timeout=10) as http:
        enc = http.post("/codec/encode", json={"payloads": [json_format.MessageToDict(original)]}, headers=staff)
        assert enc.status_code == 200, enc.text
        [sealed] = enc.json()["payloads"]
        assert base64.b64decode(sealed["metadata"][KEY_ID_META]) == b"k2"
        dec = http.post("/codec/decode", json=enc.json(), headers=staff)
        assert json_format.ParseDict(dec.json()["payloads"][0], Payload()) == original

        tampered = dict(sealed, data=base64.b64encode(b"\0" * 40).decode())
        bad = http.post("/codec/decode", json={"payloads": [tampered]}, headers=staff)
        assert bad.status_code == 400 and "tampered" in bad.json()["detail"]
        unknown = dict(sealed, metadata={**sealed["metadata"], KEY_ID_META: base64.b64encode(b"k0").decode()})
        gone = http.post("/codec/decode", json={"payloads": [unknown]}, headers=staff)
        assert gone.status_code == 400 and "unknown key id 'k0'" in gone.json()["detail"]
        junk = http.post("/codec/decode", json={"payloads": [{"data": 5}]}, headers=staff)
        assert junk.status_code == 400


def test_codec_cors_only_for_the_ui_origin(codec_server: str) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,x-namespace,authorization"}
    with httpx.Client(base_url=codec_server, timeout=10) as http:
        ui = http.options("/codec/decode", headers={"Origin": UI_ORIGIN, **preflight})
        assert ui.status_code == 200 and ui.headers["access-control-allow-origin"] == UI_ORIGIN
        evil = http.options("/codec/decode", headers={"Origin": "https://evil.example", **preflight})
        assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers
        # Outside /codec/ no CORS headers at all, even for the UI's origin.
        other = http.get("/other", headers={"Origin": UI_ORIGIN})
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
