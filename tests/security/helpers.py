"""What the security tests share: every route of the app, and probes with harmless arguments."""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.routing import Route

from settings import Settings, get_settings

# Path parameters that name nothing that exists: a request that gets past the checks changes nothing.
PROBE_PARAMS = {"ticket_id": "T-security-probe", "meeting_id": "M-security-probe",
                "supplier_id": "security-probe", "voucher_id": "999999999", "person_id": "security-probe",
                "month": "2026-11", "agent": "security-probe",
                "year": "2026", "team": "security-probe",
                 "evaluation_id": "security-probe", "run_key": "2026-11-30", "problem_key": "P-0000000000000000",
                 "ref": "FB-security-probe", "action": "reply", "observer_id": "security-probe", "quarter": "2026-Q3",
                 "name": "htmx.min.js"}
ROLES = ("agent", "supervisor", "quality", "auditor", "admin", "merchant", "supplier_manager")
# The stack's API runs with this process's environment, so its keys are the ones Settings reads here.
KEYS = {role: api_key for api_key, role in Settings().api_key_roles().items()}


def key(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


def all_operations() -> list[tuple[str, str]]:
    """(method, path) of every route the app serves: the schema's operations plus routes kept out of it."""
    from api.main import create_app

    try:
        app = create_app()
        spec = app.openapi()
    finally:
        get_settings.cache_clear()  # later tests build settings from their own environment
    ops = {(method.upper(), path) for path, methods in spec["paths"].items() for method in methods}
    # Routes added with add_route or include_in_schema=False (docs, /metrics) are top-level Routes.
    for route in app.routes:
        if isinstance(route, Route) and route.path not in spec["paths"]:
            ops |= {(m, route.path) for m in (route.methods or ()) if m != "HEAD"}
    return sorted(ops)


def probe_url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PROBE_PARAMS[m.group(1)], path)


def probe(api: httpx.Client, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request with an empty JSON object as the body where the method takes one."""
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return api.request(method, probe_url(path), **kwargs)
