"""`qualitrail demo`: three tickets on the demo policy against a running stack.

Each ticket is created through the API like any other, then switched to the demo policy (targets
in seconds) through the admin policy endpoint, so a newcomer sees warnings, a breach, its anchoring
and the voucher within a minute, and finds the workflows in the Temporal UI.

Every demo ticket ends cleanly, closed with the customer's confirmation, so nothing fires after
the demo: "on-time" is answered, resolved and confirmed at once; "breach" misses its first-response
target (one voucher), then is answered and resolved well inside its resolution target; "paused"
waits on the customer with its clock stopped, then is resolved when the customer replies.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from domain.money import format_money
from domain.policy import load_policy
from settings import ROOT

DEMO_POLICY = ROOT / "config" / "demo-policy.toml"
RESOLUTION = {"resolution_code": "fixed", "root_cause": "demo", "note": "resolved by qualitrail demo"}
SHOWN = ("sla_warning", "sla_breach", "voucher_issued", "confirmed")


class _Desk:
    """The demo's calls: staff commands with the agent key, confirmations with each customer's token."""

    def __init__(self, http: httpx.Client, key: str) -> None:
        self.http = http
        self.staff = {"X-API-Key": key}
        self.tokens: dict[str, str] = {}

    def command(self, tid: str, name: str, body: dict[str, Any] | None = None) -> None:
        self.http.post(f"/tickets/{tid}/{name}", json=body or {}, headers=self.staff).raise_for_status()

    def close(self, tid: str) -> None:
        """Resolve, then confirm as the ticket's customer: the ticket is closed for good."""
        self.command(tid, "resolve", RESOLUTION)
        self.http.post(f"/tickets/{tid}/confirm", json={"rating": 5, "comment": "thanks"},
                       headers={"X-Customer-Token": self.tokens[tid]}).raise_for_status()

    def view(self, tid: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.get(f"/tickets/{tid}", headers=self.staff).json()
        return answer


def run_demo(api_url: str, key: str, admin_key: str, seconds: float) -> int:
    admin = {"X-API-Key": admin_key}
    policy = DEMO_POLICY.read_text(encoding="utf-8")
    currency = load_policy(DEMO_POLICY).compensation.currency
    run = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=api_url, timeout=30) as http:
        desk = _Desk(http, key)
        tickets = {}
        for name, summary in [("breach", "Refund not received"), ("on-time", "Card blocked"),
                              ("paused", "Delivery address change")]:
            body = {"ticket_id": f"DEMO-{run}-{name}", "customer_ref": f"demo-customer-{name}",
                    "channel": "app", "category": "after_sales", "priority": "P3", "team": "after-sales",
                    "summary": summary, "description": "created by qualitrail demo"}
            r = http.post("/tickets", json=body, headers=desk.staff)
            r.raise_for_status()
            tid = r.json()["ticket"]["ticket_id"]
            desk.tokens[tid] = r.json()["customer_token"]
            http.put(f"/tickets/{tid}/policy", json={"policy_toml": policy}, headers=admin).raise_for_status()
            tickets[name] = tid
            print(f"opened {tid}: {summary}")
        desk.command(tickets["on-time"], "respond", {"message": "On it"})
        desk.close(tickets["on-time"])
        print(f"{tickets['on-time']}: answered, resolved and confirmed by the customer within its targets")
        desk.command(tickets["paused"], "respond")
        desk.command(tickets["paused"], "wait-for-customer", {"reason": "need the new address"})
        print(f"{tickets['paused']}: answered, now waits on the customer (its clock is stopped)")

        seen: set[tuple[str, int]] = set()
        started = time.monotonic()
        saw_warning = saw_breach = saw_voucher = False
        while time.monotonic() - started < seconds and not saw_voucher:
            for tid in tickets.values():
                view = desk.view(tid)
                for m in view["milestones"]:
                    if (tid, m["seq"]) in seen:
                        continue
                    seen.add((tid, m["seq"]))
                    if m["kind"] in SHOWN:
                        detail = ", ".join(f"{k}={v}" for k, v in m["data"].items()
                                           if k not in ("breach_leaf", "amount", "comment"))
                        print(f"{time.monotonic() - started:5.1f}s  {tid}  {m['kind']:<15} {detail}")
                    saw_warning |= m["kind"] == "sla_warning"
                    if m["kind"] == "sla_breach" and tid == tickets["breach"] and not saw_breach:
                        saw_breach = True
                        # Late, but resolved long before its resolution target: one breach, one voucher.
                        desk.command(tid, "respond", {"message": "Sorry for the wait"})
                        desk.close(tid)
                        print(f"{tid}: answered late, then resolved and confirmed; its voucher is issued "
                              "once the breach is anchored on chain")
                for v in view["vouchers"]:
                    if tid == tickets["breach"] and not saw_voucher:
                        saw_voucher = True
                        print(f"voucher on chain for {tid}: #{v['voucher_id']} worth "
                              f"{format_money(v['amount'], currency)} for the {v['breach']} breach, tx {v['tx_hash']}")
            time.sleep(1)
        # The customer answers: the paused ticket resumes and is resolved, so no demo ticket stays open.
        desk.command(tickets["paused"], "customer-replied")
        desk.close(tickets["paused"])
        print(f"{tickets['paused']}: the customer replied; resolved and confirmed")
        if not saw_breach:
            # Not left open to breach later: the demo leaves nothing behind.
            desk.command(tickets["breach"], "respond")
            desk.close(tickets["breach"])
    if saw_warning and saw_breach:
        if not saw_voucher:
            print("saw a warning and a breach (the voucher waits for anchoring; check again later)")
        return 0
    print("no breach within the time given: is the worker running?")
    return 1
