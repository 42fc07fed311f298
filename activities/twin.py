"""Stand-ins for the ticket workflow's activities when the digital twin runs it: nothing is written.

The twin (``cli/twin_run.py``) runs the real ``TicketWorkflow`` on a time-skipping test server with
these activities under the same names, so no read model, chain, inbox or webhook is touched:
records and alerts are counted in memory, an anchor is granted at once, and a voucher is numbered
locally (its amount is the workflow's own, from the policy under test).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from temporalio import activity

from domain.tickets import (
    AnchoredLeaf,
    AnchorWait,
    Notification,
    RepeatQuery,
    VoucherRequest,
    VoucherResult,
)

__all__ = ["TwinActivities"]


class TwinActivities:
    """In-process stand-ins, one set per twin run; ``counts`` says what the workflows asked for."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    @activity.defn(name="record_ticket")
    async def record_ticket(self, record: Any) -> None:
        """Counts the write the read model would have had (a ``RecordTicketInput``, left as plain
        JSON: the twin never reads it, and decoding every record into dataclasses was a sixth of
        the twin's time)."""
        self._count("record_ticket")

    @activity.defn(name="find_repeat_complaint")
    async def find_repeat_complaint(self, query: RepeatQuery) -> str:
        """A twin scenario is never a repeat complaint (the history's repeats are not replayed)."""
        self._count("find_repeat_complaint")
        return ""

    @activity.defn(name="notify")
    async def notify(self, alert: Notification) -> None:
        """Counts the alert, by kind, that would have reached a department head."""
        self._count(f"alert:{alert.kind}")

    @activity.defn(name="wait_for_anchor")
    async def wait_for_anchor(self, wait: AnchorWait) -> AnchoredLeaf:
        """The breach leaf counts as anchored at once (no chain in the twin)."""
        return AnchoredLeaf(leaf=wait.leaf, root=wait.leaf, proof=[], tx_hash="twin", block_number=0)

    @activity.defn(name="issue_voucher")
    async def issue_voucher(self, request: VoucherRequest) -> VoucherResult:
        """Numbers the voucher locally; its amount stays in the workflow's state for the report."""
        with self._lock:
            voucher_id = next(self._ids)
            self.counts["issue_voucher"] += 1
        return VoucherResult(voucher_id=voucher_id, tx_hash="twin", block_number=0)

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the twin's worker."""
        return [self.record_ticket, self.find_repeat_complaint, self.notify, self.wait_for_anchor,
                self.issue_voucher]
