"""A shard whose run gets stuck on its test server is played again on a fresh one, a bounded number
of times; then the twin fails, naming the stuck run, rather than waiting for ever."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime, timedelta
from queue import Queue
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

import cli.twin as twin
import cli.twin_run as twin_run
from analysis.twin import bootstrap, generate_history
from cli.twin_run import TwinRun, TwinStuck
from domain.policy import load_policy
from settings import ROOT

CURRENT = load_policy(ROOT / "config" / "policy.toml")


async def test_a_stuck_shard_is_played_again_then_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []
    outcome = TwinRun(played=[])

    async def flaky(*_args: Any) -> TwinRun:
        attempts.append(1)
        if len(attempts) < 2:
            raise TwinStuck("T-1: respond unanswered after 0:02:00")
        return outcome

    monkeypatch.setattr(twin, "_play_on_fresh_server", flaky)
    assert await twin._play_shard([], {}, 2026, datetime.now(UTC), "current", None) is outcome
    assert len(attempts) == 2

    async def stuck(*_args: Any) -> TwinRun:
        attempts.append(1)
        raise TwinStuck("T-2: resolve unanswered after 0:02:00")

    attempts.clear()
    monkeypatch.setattr(twin, "_play_on_fresh_server", stuck)
    with pytest.raises(TwinStuck, match="T-2"):
        await twin._play_shard([], {}, 2026, datetime.now(UTC), "current", None)
    assert len(attempts) == twin.SHARD_ATTEMPTS


async def test_an_update_left_unanswered_is_a_stuck_run(monkeypatch: pytest.MonkeyPatch,
                                                        own_env: WorkflowEnvironment) -> None:
    # On its timeout, wait_for cancels the call, and the SDK reports the cancelled call as an error
    # of its own: that, too, is a stuck run (it once escaped and broke the run's process pool).
    real = WorkflowHandle.execute_update
    calls: list[str] = []

    async def unanswered_third(self: WorkflowHandle[Any, Any], update: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self.id)
        if len(calls) == 3:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError as err:
                raise WorkflowUpdateRPCTimeoutOrCancelledError() from err
        return await real(self, update, *args, **kwargs)

    monkeypatch.setattr(WorkflowHandle, "execute_update", unanswered_third)
    monkeypatch.setattr(twin_run, "STUCK_AFTER", timedelta(seconds=1))
    of = twin.policy_of(CURRENT, 2026)
    scenarios = bootstrap(generate_history(3, 200, of, days=2), 4, seed=3)
    start = (await own_env.get_current_time()).replace(second=0, microsecond=0) + timedelta(minutes=5)
    with pytest.raises(TwinStuck) as stuck:
        await twin_run.play(own_env, scenarios, {"current": lambda s: of(s.category, s.team)}, start=start)
    assert str(stuck.value).startswith(f"{calls[2]}: ")


def test_a_failed_shard_reaches_the_parent_whatever_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def unreachable(*_args: Any) -> TwinRun:
        # As the SDK raises it: its __init__ takes more than it passes on, so it cannot be unpickled.
        raise RPCError("test server gone", RPCStatusCode.UNAVAILABLE, b"")

    monkeypatch.setattr(twin, "_play_shard", unreachable)
    with pytest.raises(twin.TwinShardFailed) as failed:
        twin._shard_process([], {}, 2026, datetime.now(UTC), "current", 7, Queue())
    back = pickle.loads(pickle.dumps(failed.value))  # what the process pool does with it
    assert "shard 7" in str(back) and "RPCError: test server gone" in str(back)
