"""The chaos run as tests: a fast one in `make test`, the full one opt-in (`make chaos`, or `pytest -m chaos`).

Both are the same code as `bench/chaos.py`: tickets over the real API while the worker, the API,
Anvil and the Temporal dev server are SIGKILLed and restarted one at a time, then every invariant
is checked (each ticket closed with each step once, one voucher per breach and no other, every
milestone anchored once and every certificate verifying on chain, no duplicate rows, no
nondeterminism). The fast run: 40 tickets, each component killed once, about a minute and a half. The full
run: 300 tickets, two kill rounds, about 3.5 minutes. `QT_CHAOS_TICKETS` and `QT_CHAOS_SEED` change
the load and replay a failing seed.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bench.chaos import COMPONENTS, ChaosResult, report, run_chaos


def _seed() -> int | None:
    seed = os.environ.get("QT_CHAOS_SEED")
    return int(seed) if seed else None


def _assert_survived(result: ChaosResult, kills_per_component: int) -> None:
    print(report(result))
    killed = [k.component for k in result.kills]
    assert all(killed.count(c) >= kills_per_component for c in COMPONENTS), \
        f"every component must have been killed {kills_per_component} time(s): {killed}"
    assert result.ok, report(result)


@pytest.mark.timeout(600)
def test_fast_chaos_every_component_killed_once_nothing_lost_or_doubled(tmp_path: Path) -> None:
    # The last ticket is created at 25 s and every kill is due before 20 s: all four kills happen
    # while tickets are in flight (P1 tickets breach and get their vouchers during the kills).
    result = asyncio.run(run_chaos(tmp_path, tickets=40, rounds=1, ramp_seconds=25.0, kill_window=(3.0, 20.0),
                                   settle_timeout=240.0, seed=_seed()))
    _assert_survived(result, kills_per_component=1)


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_no_ticket_voucher_or_anchor_is_lost_or_doubled_across_crashes(tmp_path: Path) -> None:
    result = asyncio.run(run_chaos(tmp_path, tickets=int(os.environ.get("QT_CHAOS_TICKETS", "300")), seed=_seed()))
    _assert_survived(result, kills_per_component=1)
