"""The twin's faster data converter (cli/twin_run.py) gives what the SDK's default one gives: every
payload of a real twin run is encoded and decoded by both, and must come out the same."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultPayloadConverter, PayloadConverter
from temporalio.testing import WorkflowEnvironment

from analysis.twin import bootstrap, generate_history
from cli.twin import policy_of
from cli.twin_run import play
from cli.twin_sdk import TWIN_DATA_CONVERTER
from domain.policy import load_policy
from settings import ROOT

CURRENT = load_policy(ROOT / "config" / "policy.toml")
TWIN = TWIN_DATA_CONVERTER.payload_converter
DEFAULT = DefaultPayloadConverter()
SEEN: dict[str, int] = {"encoded": 0, "decoded": 0, "dataclasses": 0}
DIFFERENT: list[str] = []


class Compared(PayloadConverter):
    """The twin's converter, compared with the default on every call. A difference is noted and
    the default's result used (an error raised here would fail workflow tasks, retried for ever)."""

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        ours, theirs = TWIN.to_payloads(values), DEFAULT.to_payloads(values)
        if ours != theirs:
            DIFFERENT.append(f"encoded {values!r}")
        SEEN["encoded"] += len(values)
        return theirs

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        ours, theirs = TWIN.from_payloads(payloads, type_hints), DEFAULT.from_payloads(payloads, type_hints)
        if ours != theirs or list(map(type, ours)) != list(map(type, theirs)):
            DIFFERENT.append(f"decoded {type_hints}: {ours!r} != {theirs!r}")
        SEEN["decoded"] += len(payloads)
        SEEN["dataclasses"] += sum(hasattr(value, "__dataclass_fields__") for value in ours)
        return theirs


async def test_every_payload_of_a_twin_run_is_what_the_default_converter_makes() -> None:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path,
                                                        data_converter=DataConverter(payload_converter_class=Compared))
    try:
        scenarios = bootstrap(generate_history(3, 200, policy_of(CURRENT, 2026), days=2), 12, seed=3)
        of = policy_of(CURRENT, 2026)
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
        run = await play(env, scenarios, {"current": lambda s: of(s.category, s.team)}, start=start)
    finally:
        await env.shutdown()
    assert len(run.played) == 12
    assert not DIFFERENT, DIFFERENT[:3]
    # The run went through the workflow's typed inputs (the ticket with its policy, the commands,
    # the activities' answers), not only plain JSON.
    assert SEEN["encoded"] > 100 and SEEN["decoded"] > 100 and SEEN["dataclasses"] > 50, SEEN
