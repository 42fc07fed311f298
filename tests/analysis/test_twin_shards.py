"""A shard whose run gets stuck on its test server is played again on a fresh one, a bounded number
of times; then the twin fails, naming the stuck run, rather than waiting for ever."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import cli.twin as twin
from cli.twin_run import TwinRun, TwinStuck


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
