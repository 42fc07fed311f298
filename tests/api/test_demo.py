"""`qualitrail demo` against the running stack shows a warning, a breach and its voucher, and leaves
every demo ticket closed: nothing breaches after the demo, and the breach has exactly one voucher."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from cli.stack import Stack
from settings import ROOT

STAFF = {"X-API-Key": "dev-agent"}


async def test_demo_shows_warning_breach_and_voucher_and_ends_cleanly(stack: Stack) -> None:
    proc = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "cli.main", "demo", "--api", stack.config.api_url, "--seconds", "60"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sla_warning" in proc.stdout and "sla_breach" in proc.stdout
    assert "voucher on chain" in proc.stdout
    assert re.search(r"worth CN¥\d+\.\d\d for the first_response breach", proc.stdout), proc.stdout
    tickets = dict(re.findall(r"^opened (DEMO-\w+-([\w-]+)):", proc.stdout, re.M))
    ids = {name: tid for tid, name in tickets.items()}
    assert set(ids) == {"breach", "on-time", "paused"}, proc.stdout

    # Each workflow has ended: nothing can fire after the demo.
    client = await Client.connect(stack.config.temporal_address, namespace=stack.config.namespace)
    for tid in ids.values():
        handle = client.get_workflow_handle(tid)
        for _ in range(100):
            if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
                break
            await asyncio.sleep(0.3)
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED, tid

    async with httpx.AsyncClient(base_url=stack.config.api_url, timeout=60) as api:
        views = {name: (await api.get(f"/tickets/{tid}", headers=STAFF)).json() for name, tid in ids.items()}
    for name, view in views.items():
        assert view["status"] == "closed" and view["rating"] == 5, (name, view["status"])
    kinds = {name: [m["kind"] for m in view["milestones"]] for name, view in views.items()}
    assert "sla_breach" not in kinds["on-time"] and "sla_warning" not in kinds["on-time"]
    assert "sla_breach" not in kinds["paused"]
    assert kinds["breach"].count("sla_breach") == 1 and views["breach"]["breaches"] == ["first_response"]
    assert len(views["breach"]["vouchers"]) == 1 and kinds["breach"].count("voucher_issued") == 1
