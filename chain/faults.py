"""TEST HOOK, off unless set: a worker that kills itself between a transaction and its record.

``QT_FAULT_KILL_AFTER=<point>`` makes the process SIGKILL itself at that point, to prove
exactly-once across a crash. Points: ``"anchor_sent"`` (anchor tx mined, batch not recorded) and
``"voucher_sent"`` (voucher tx mined, voucher not recorded). Never set it in production.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Final

__all__ = ["FAULT_ENV", "fault_point"]

FAULT_ENV: Final = "QT_FAULT_KILL_AFTER"

log = logging.getLogger("qualitrail.chain")


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL if ``QT_FAULT_KILL_AFTER`` names ``name``.

    Read at every call (not at start), so a test can arm it for one process only.

    Args:
        name: The point reached, e.g. ``"voucher_sent"``.
    """
    if os.environ.get(FAULT_ENV, "") == name:
        log.warning("test hook %s=%s: killing process %d", FAULT_ENV, name, os.getpid())
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)
