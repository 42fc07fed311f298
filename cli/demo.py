"""`qualitrail demo`: three tickets on the demo policy against a running stack.

Each ticket is created through the API like any other, then switched to the demo policy (targets
in seconds) through the admin policy endpoint, so a newcomer sees warnings, a breach, its anchoring
and the voucher within a minute, and finds the workflows in the Temporal UI.
"""

from __future__ import annotations

import time
import uuid

import httpx

from settings import ROOT

DEMO_POLICY = ROOT / "config" / "demo-policy.toml"


def run_demo(api_url: str, key: str, admin_key: str, seconds: float) -> int:
    staff = {"X-API-Key": key}
    admin = {"X-API-Key": admin_key}
    policy = DEMO_POLICY.read_text(encoding="utf-8")
    run = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=api_url, timeout=30) as http:
        tickets = {}
        for name, summary in [("breach", "Refund not received"), ("on-time", "Card blocked"),
                              ("paused", "Delivery address change")]:
            body = {"ticket_id": f"DEMO-{run}-{name}", "customer_ref": f"demo-customer-{name}",
                    "channel": "app", "category": "after_sales", "priority": "P3", "team": "after-sales",
                    "summary": summary, "description": "created by qualitrail demo"}
            r = http.post("/tickets", json=body, headers=staff)
            r.raise_for_status()
            tid = r.json()["ticket"]["ticket_id"]
            http.put(f"/tickets/{tid}/policy", json={"policy_toml": policy}, headers=admin).raise_for_status()
            tickets[name] = tid
            print(f"opened {tid}: {summary}")
        http.post(f"/tickets/{tickets['on-time']}/respond", json={"message": "On it"},
                  headers=staff).raise_for_status()
        http.post(f"/tickets/{tickets['paused']}/respond", json={}, headers=staff).raise_for_status()
        http.post(f"/tickets/{tickets['paused']}/wait-for-customer", json={"reason": "need the new address"},
                  headers=staff).raise_for_status()
        print("responded to 'on-time' and 'paused'; 'paused' now waits on the customer (clock stopped)")

        seen: set[tuple[str, int]] = set()
        started = time.monotonic()
        saw_warning = saw_breach = False
        while time.monotonic() - started < seconds:
            for tid in tickets.values():
                view = http.get(f"/tickets/{tid}", headers=staff).json()
                for m in view["milestones"]:
                    if (tid, m["seq"]) in seen:
                        continue
                    seen.add((tid, m["seq"]))
                    if m["kind"] in ("sla_warning", "sla_breach", "voucher_issued"):
                        detail = ", ".join(f"{k}={v}" for k, v in m["data"].items() if k != "breach_leaf")
                        print(f"{time.monotonic() - started:5.1f}s  {tid}  {m['kind']:<15} {detail}")
                        saw_warning |= m["kind"] == "sla_warning"
                        saw_breach |= m["kind"] == "sla_breach"
                if view["vouchers"] and saw_breach:
                    print(f"voucher on chain for {tid}: {view['vouchers'][0]}")
                    return 0
            time.sleep(1)
    if saw_warning and saw_breach:
        print("saw a warning and a breach (the voucher waits for anchoring; check again later)")
        return 0
    print("no breach within the time given: is the worker running?")
    return 1
