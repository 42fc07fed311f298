"""End to end on the real stack: a first-response breach gets exactly one voucher on chain, also when
the worker is SIGKILLed between sending the voucher transaction and recording it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from chain.context import ChainContext
from cli.stack import Stack, StackConfig
from settings import ROOT, Settings
from tests.evidence.helpers import issued_events
from tests.helpers import eventually

AGENT = {"X-API-Key": "dev-agent"}


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Demo policy: 15 s first-response target. The worker kills itself right after the voucher
    # transaction's receipt, before the activity can record it or report back to Temporal.
    config = StackConfig.ephemeral(tmp_path_factory.mktemp("fault-stack"),
                                   policy_file=ROOT / "config" / "demo-policy.toml",
                                   extra_env={"QT_FAULT_KILL_AFTER": "voucher_sent"})
    with Stack(config) as stack:
        yield stack


def chain_for(stack: Stack) -> ChainContext:
    settings = Settings(var_dir=stack.config.var_dir, rpc_url=stack.config.rpc_url)
    return ChainContext(settings, deploy=False)


def test_breach_yields_exactly_one_voucher_across_a_worker_sigkill(fault_stack: Stack) -> None:
    api = httpx.Client(base_url=fault_stack.config.api_url, timeout=60)
    body = {"ticket_id": f"E2E-{uuid.uuid4().hex[:8]}", "customer_ref": "cust-e2e", "channel": "phone",
            "category": "after_sales", "priority": "P3", "team": "after-sales", "summary": "No dial tone"}
    tid = api.post("/tickets", json=body, headers=AGENT).json()["ticket"]["ticket_id"]
    claim = f"{tid}:first_response"
    chain = chain_for(fault_stack)

    worker = fault_stack.procs["worker"]
    deadline = time.monotonic() + 90
    while worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert worker.poll() is not None, "the worker should have been killed after sending the voucher"
    assert issued_events(chain, claim) == 1  # sent, but nobody recorded it

    fault_stack.config.extra_env.pop("QT_FAULT_KILL_AFTER")
    fault_stack.procs.pop("worker")
    fault_stack.start_worker()

    def voucher_recorded() -> None:
        view = api.get(f"/tickets/{tid}", headers=AGENT).json()
        assert len(view["vouchers"]) == 1, view["vouchers"]
        assert [m["kind"] for m in view["milestones"]].count("voucher_issued") == 1
    eventually(voucher_recorded, timeout=90, interval=1)
    assert issued_events(chain, claim) == 1

    voucher_id = api.get(f"/tickets/{tid}", headers=AGENT).json()["vouchers"][0]["voucher_id"]
    merchant = {"X-API-Key": "dev-merchant"}
    assert api.post(f"/vouchers/{voucher_id}/redeem", headers=merchant).status_code == 200
    again = api.post(f"/vouchers/{voucher_id}/redeem", headers=merchant)
    assert again.status_code == 409 and str(voucher_id) in again.json()["detail"]
    assert api.get(f"/tickets/{tid}", headers=AGENT).json()["vouchers"][0]["redeemed"] is True

