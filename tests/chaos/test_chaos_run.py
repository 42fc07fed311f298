"""The chaos run as a test (opt-in: `make chaos`, or `pytest -m chaos`; about 3.5 minutes).

It is the same code as `bench/chaos.py`: 300 tickets over the real API while the worker, the API,
Anvil and the Temporal dev server are SIGKILLed and restarted one at a time, then every invariant
is checked. `QT_CHAOS_TICKETS` and `QT_CHAOS_SEED` change the load and replay a failing seed.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bench.chaos import report, run_chaos


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_no_ticket_voucher_or_anchor_is_lost_or_doubled_across_crashes(tmp_path: Path) -> None:
    seed = os.environ.get("QT_CHAOS_SEED")
    result = asyncio.run(run_chaos(tmp_path, tickets=int(os.environ.get("QT_CHAOS_TICKETS", "300")),
                                   seed=int(seed) if seed else None))
    print(report(result))
    assert result.kills and {k.component for k in result.kills} == {"worker", "api", "anvil", "temporal"}, \
        "every component must have been killed at least once"
    assert result.ok, report(result)
