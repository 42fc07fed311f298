"""`qualitrail demo` against the running stack shows a warning, a breach and its voucher."""

from __future__ import annotations

import subprocess
import sys

from cli.stack import Stack
from settings import ROOT


def test_demo_shows_warning_breach_and_voucher_within_a_minute(stack: Stack) -> None:
    proc = subprocess.run([sys.executable, "-m", "cli.main", "demo", "--api", stack.config.api_url,
                           "--seconds", "60"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sla_warning" in proc.stdout and "sla_breach" in proc.stdout
    assert "voucher on chain" in proc.stdout
