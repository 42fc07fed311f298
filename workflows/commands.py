"""How every workflow's Update handler begins: wait until it may act, then check the command again.

A validator sees the state when its Update arrives. Two Updates that arrive together (a client's
retry after an outage and the original delivered late, say) are both validated before either
handler runs, so a handler that trusted its validator alone would apply the same command twice.
The chaos run (bench/chaos.py) caught exactly that: two first responses on one ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow

# Histories written before this check replay without it.
RECHECK_WHEN_READY = "recheck-command-when-ready"


async def ready_for(ready: Callable[[], bool], validate: Callable[[Any], None], cmd: Any) -> None:
    """Wait for ``ready``, then run ``validate(cmd)`` on the state the handler is about to change."""
    await workflow.wait_condition(ready)
    if workflow.patched(RECHECK_WHEN_READY):
        validate(cmd)
