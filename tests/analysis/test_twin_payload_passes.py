"""The twin's processes skip the SDK's payload passes only where they do nothing: a converter with
a codec still has every payload of a real workflow run through it, and the skip is in effect
with the SDK we pin (decision 035)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
import temporalio.bridge.worker as bridge_worker
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.converter._extstore import StorageOperationMetrics
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from cli.twin_sdk import TWIN_DATA_CONVERTER, skip_idle_payload_visits


class Reversing(PayloadCodec):
    """A codec that changes every byte's order: a payload it did not decode cannot be read."""

    def __init__(self) -> None:
        self.calls = 0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.calls += 1
        return [Payload(metadata={**p.metadata, "reversed": b"1"}, data=p.data[::-1]) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.calls += 1
        assert all(p.metadata.get("reversed") == b"1" for p in payloads), "a payload reached the codec undecoded"
        return [Payload(metadata={k: v for k, v in p.metadata.items() if k != "reversed"}, data=p.data[::-1])
                for p in payloads]


@activity.defn
async def shout(text: str) -> str:
    return text.upper() + "!"


@workflow.defn(sandboxed=False)
class Shouting:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(shout, text, start_to_close_timeout=timedelta(seconds=30))


@pytest.fixture
def skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    """The skip in effect for one test; the SDK's own functions put back after it."""
    for name in ("decode_activation", "encode_completion"):
        monkeypatch.setattr(bridge_worker, name, getattr(bridge_worker, name))
    monkeypatch.setattr(bridge_worker, "_twin_skips", False, raising=False)
    assert skip_idle_payload_visits(), "the SDK's payload passes are not the ones the twin skips: see decision 035"


async def test_a_codec_still_sees_every_payload(skipping: None, own_env: WorkflowEnvironment) -> None:
    codec = Reversing()
    client = Client(**{**own_env.client.config(), "data_converter": DataConverter(payload_codec=codec)})
    queue = f"passes-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[Shouting], activities=[shout],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        result = await client.execute_workflow(Shouting.run, "breach", id=f"passes-{uuid.uuid4()}", task_queue=queue,
                                               execution_timeout=timedelta(minutes=1))
    assert result == "BREACH!"
    # The client's start and result, and the worker's activation, command, activity and completion.
    assert codec.calls >= 6


async def test_the_twins_converter_skips_the_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a message at all: a pass over it fails; skipped, nothing looks at it.
    sdk_decode = bridge_worker.decode_activation
    with pytest.raises(Exception):  # noqa: B017 - whatever the SDK's walk raises on a non-message
        await sdk_decode(object(), TWIN_DATA_CONVERTER, False, 1)  # type: ignore[arg-type]
    monkeypatch.setattr(bridge_worker, "decode_activation", sdk_decode)
    monkeypatch.setattr(bridge_worker, "encode_completion", bridge_worker.encode_completion)
    monkeypatch.setattr(bridge_worker, "_twin_skips", False, raising=False)
    assert skip_idle_payload_visits()
    assert isinstance(await bridge_worker.decode_activation(object(), TWIN_DATA_CONVERTER, False, 1),  # type: ignore[arg-type]
                      StorageOperationMetrics)
    assert isinstance(await bridge_worker.encode_completion(object(), TWIN_DATA_CONVERTER, False, 1),  # type: ignore[arg-type]
                      StorageOperationMetrics)
