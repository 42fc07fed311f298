"""Every route refuses a missing key, a wrong key and a role it does not admit (401/403).

Routes are enumerated from the app, so a new one is covered without editing this file, and fails
until it is placed: in ROLES (which keys it admits), CUSTOMER_TOKEN, or PUBLIC with a reason.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.security.helpers import ROLES, all_operations, key, probe, probe_url

# Reachable without any credentials, each for a reason.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/health"): "readiness probe for load balancers; says only ok/down per dependency",
    ("GET", "/health/live"): "liveness probe; answers a constant",
    ("GET", "/metrics"): "Prometheus scrape: counts per route template, no data (restrict it at the network)",
    ("GET", "/openapi.json"): "the API description; no data",
    ("GET", "/docs"): "Swagger UI page over the API description (assets served by us, api/assets.py)",
    ("GET", "/verify"): "customers' upload form for a certificate file",
    ("GET", "/verify/{ticket_id}"): "customers' QR page; the certificate digest in the URL is the capability",
    ("POST", "/verify"): "checks a certificate file the caller already holds; reveals nothing else",
    ("GET", "/reports"): "the published months of the public quality report (rule 16)",
    ("GET", "/reports/{month}"): "the public monthly quality report page (rule 16)",
    ("GET", "/reports/{month}.json"): "the public report as anchored (rule 16)",
    ("GET", "/reports/{month}.pdf"): "the public report as PDF (rule 16)",
    ("GET", "/reports/{month}/export.json"): "the public report's anchored record for auditors: no customer data",
    # Rule 14: anyone may give feedback (limited per address and customer, api/routes/feedback.py).
    ("GET", "/feedback"): "the public feedback page",
    ("POST", "/feedback"): "public feedback from the app and the web site",
    ("POST", "/feedback/form"): "the feedback page's form",
    # The customer token in the receipt's link is the capability: without it these answer 404.
    ("GET", "/feedback/{ref}"): "follow page of a feedback; 404 without the receipt's token",
    ("GET", "/feedback/{ref}/status"): "a feedback's status; 404 without the receipt's token",
    ("GET", "/my/tickets/{ticket_id}"): "the customer's ticket page; 404 without the ticket's customer token",
    ("POST", "/my/tickets/{ticket_id}/{action}"): "the customer page's forms; the token is a form field",
    # The observer's token from the invitation's link is the capability: a 404 page without it.
    ("GET", "/observers/{observer_id}/page"): "an observer's page; 404 without their token",
    ("POST", "/observers/{observer_id}/page/suggestion"): "the observer page's suggestion form; token a form field",
    ("POST", "/observers/{observer_id}/page/review"): "the observer page's review form; token a form field",
    ("GET", "/console/static/vendor/{name}"): "the console's pinned scripts (htmx, ECharts); no data",
}
# The console's pages (decision 016) are not API routes: a person's session cookie admits them, and
# tests/console/test_console_security.py checks every page's session, roles and CSRF.
# The ticket's customer, with the X-Customer-Token the API handed out at creation (no API key).
CUSTOMER_TOKEN = {("POST", "/tickets/{ticket_id}/confirm"), ("POST", "/tickets/{ticket_id}/customer-reopen"),
                  ("GET", "/tickets/{ticket_id}/customer-view"), ("POST", "/tickets/{ticket_id}/customer-reply")}
# An enrolled observer, with the X-Observer-Token given at enrolment (tests/feedback/test_observers_api.py).
OBSERVER_TOKEN = {("POST", "/observers/{observer_id}/suggestions"),
                  ("POST", "/observers/{observer_id}/reviews/{quarter}")}
# Staff key or the ticket's customer token.
STAFF_OR_CUSTOMER = {("GET", "/tickets/{ticket_id}/certificate"), ("GET", "/tickets/{ticket_id}/certificate.png"),
                     ("GET", "/tickets/{ticket_id}/certificate.svg")}

STAFF = {"agent", "supervisor", "quality", "auditor"}
AGENT = {"agent", "supervisor"}
QUALITY = {"quality", "supervisor"}
SUPERVISOR = {"supervisor"}
SUPPLIER_READER = STAFF | {"supplier_manager"}
# Which roles each route admits besides admin (admin is admitted everywhere, see api/deps.py).
ROLES_ADMITTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/tickets"): AGENT,
    ("GET", "/tickets"): STAFF,
    ("GET", "/tickets/{ticket_id}"): STAFF,
    **{("POST", f"/tickets/{{ticket_id}}/{command}"): AGENT
       for command in ("assign", "respond", "notes", "wait-for-customer", "customer-replied", "priority",
                       "resolve", "reopen", "escalate")},
    ("POST", "/tickets/{ticket_id}/cancel"): SUPERVISOR,
    ("PUT", "/tickets/{ticket_id}/policy"): set(),
    ("POST", "/tickets/{ticket_id}/customer-token/revoke"): SUPERVISOR,
    **{op: STAFF for op in STAFF_OR_CUSTOMER},
    ("POST", "/meetings"): QUALITY,
    ("GET", "/meetings"): STAFF,
    ("GET", "/meetings/{meeting_id}"): STAFF,
    ("POST", "/meetings/{meeting_id}/analyses"): QUALITY,
    ("POST", "/meetings/{meeting_id}/solution"): QUALITY,
    ("POST", "/meetings/{meeting_id}/tickets"): QUALITY,
    ("POST", "/suppliers"): QUALITY,
    ("GET", "/suppliers"): SUPPLIER_READER,
    ("GET", "/suppliers/{supplier_id}"): SUPPLIER_READER,
    ("GET", "/suppliers/{supplier_id}/deductions"): SUPPLIER_READER,
    ("POST", "/suppliers/{supplier_id}/deductions"): QUALITY,
    ("POST", "/suppliers/{supplier_id}/appeal"): {"supplier_manager"},
    ("POST", "/suppliers/{supplier_id}/appeal/decision"): QUALITY,
    ("GET", "/suppliers/{supplier_id}/open-tickets"): SUPERVISOR,
    ("POST", "/suppliers/{supplier_id}/tickets/{ticket_id}/reassign"): SUPERVISOR,
    ("GET", "/vouchers"): STAFF,
    ("POST", "/vouchers/{voucher_id}/redeem"): {"agent", "merchant"},
    # Service record: reviewers too (a role without a dev key, so not probed here; see tests/records).
    ("GET", "/tickets/{ticket_id}/record"): QUALITY,
    ("POST", "/tickets/{ticket_id}/erasure"): {"quality"},
    ("POST", "/feedback/{ref}/erasure"): {"quality"},
    # The directory of people; inboxes are also open to team heads (no dev key; see tests/alerts).
    ("PUT", "/people/{person_id}"): QUALITY,
    ("GET", "/people"): QUALITY,
    ("GET", "/people/{person_id}"): QUALITY,
    ("GET", "/people/{person_id}/alerts"): QUALITY,
    ("GET", "/points/{month}"): QUALITY,
    ("GET", "/points/{month}/agents/{agent}"): QUALITY,
    ("GET", "/veto/{year}"): STAFF,
    ("GET", "/veto/{year}/teams/{team}"): STAFF,
    ("POST", "/veto/{year}/teams/{team}/complaints"): QUALITY,
    # External evaluators have no dev key: among the probed roles only admin files (see tests/evaluations).
    ("POST", "/evaluations"): set(),
    ("GET", "/evaluations"): QUALITY,
    ("GET", "/evaluations/scores"): QUALITY,
    ("GET", "/evaluations/{evaluation_id}"): QUALITY,
    # Reviewers too (no dev key; see tests/spot_check).
    ("GET", "/spot-checks/{month}"): QUALITY,
    ("GET", "/spot-checks/{month}/tasks"): QUALITY,
    ("POST", "/spot-checks/{month}/tasks/{ticket_id}/findings"): QUALITY,
    ("GET", "/analysis/runs/latest"): QUALITY,
    ("GET", "/analysis/runs/{run_key}"): QUALITY,
    ("GET", "/analysis/proposals"): QUALITY,
    ("GET", "/analysis/proposals/{problem_key}"): QUALITY,
    ("POST", "/analysis/proposals/{problem_key}/accept"): QUALITY,
    ("POST", "/analysis/proposals/{problem_key}/reject"): QUALITY,
    # Team heads (not probed: no dev key) put their own team's roster (tests/analysis/test_staffing_api.py).
    ("PUT", "/staffing/roster/{team}"): {"quality"},
    ("GET", "/staffing/roster/{team}"): STAFF,
    ("GET", "/staffing/plan"): STAFF,
    ("GET", "/staffing/forecast"): STAFF,
    ("GET", "/cases"): STAFF,
    ("GET", "/tickets/{ticket_id}/similar-cases"): STAFF,
    ("POST", "/codec/decode"): {"quality", "supervisor", "auditor"},
    ("POST", "/codec/encode"): {"quality", "supervisor", "auditor"},
    ("POST", "/feedback/branch"): AGENT,
    ("PUT", "/observers/{observer_id}"): QUALITY,
    ("GET", "/observers"): QUALITY,
    ("GET", "/observers/rounds/{quarter}"): QUALITY,
    ("POST", "/console/api/invitations"): set(),  # admin only: invites a person to the console
}

OPERATIONS = all_operations()
KEYED = [op for op in OPERATIONS if op in ROLES_ADMITTED]


def _ids(ops: list[tuple[str, str]]) -> list[str]:
    return [f"{method} {path}" for method, path in ops]


def test_every_route_is_placed() -> None:
    unplaced = [op for op in OPERATIONS
                if op not in PUBLIC and op not in CUSTOMER_TOKEN and op not in ROLES_ADMITTED
                and op not in OBSERVER_TOKEN]
    assert not unplaced, f"new routes: add them to ROLES_ADMITTED, CUSTOMER_TOKEN or PUBLIC (with a reason): {unplaced}"
    stale = [op for op in [*PUBLIC, *CUSTOMER_TOKEN, *ROLES_ADMITTED, *OBSERVER_TOKEN] if op not in OPERATIONS]
    assert not stale, f"listed routes that no longer exist: {stale}"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=_ids(OPERATIONS))
def test_only_the_allow_list_answers_without_credentials(api: httpx.Client, method: str, path: str) -> None:
    response = probe(api, method, path)
    if (method, path) in PUBLIC:
        assert response.status_code not in (401, 403), "listed as public but refuses: update PUBLIC"
        return
    assert response.status_code == 401, (response.status_code, response.text[:300])
    assert response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), KEYED, ids=_ids(KEYED))
@pytest.mark.parametrize("wrong", ["dev-nobody", "DEV-ADMIN", "dev-admin-", "x" * 200])
def test_a_wrong_key_is_refused(api: httpx.Client, method: str, path: str, wrong: str) -> None:
    response = probe(api, method, path, {"X-API-Key": wrong})
    assert response.status_code == 401, (response.status_code, response.text[:300])
    assert response.headers.get("www-authenticate") == "ApiKey"


@pytest.mark.parametrize(("method", "path"), KEYED, ids=_ids(KEYED))
def test_each_route_admits_exactly_its_roles(api: httpx.Client, method: str, path: str) -> None:
    admitted = ROLES_ADMITTED[(method, path)] | {"admin"}
    answers = {role: probe(api, method, path, key(role)).status_code for role in ROLES}
    # Admitted roles get past the check to the (harmless) request itself: 404, 422, 200 ...
    assert {r for r, code in answers.items() if code not in (401, 403)} == admitted, answers
    assert {r for r, code in answers.items() if code == 403} == set(ROLES) - admitted, answers
    assert set(ROLES) - admitted, "every keyed route refuses some role"


def test_a_merchant_cannot_cancel_and_an_agent_cannot_change_policy(api: httpx.Client) -> None:
    cancel = api.post(probe_url("/tickets/{ticket_id}/cancel"), json={"reason": "spam"}, headers=key("merchant"))
    assert cancel.status_code == 403 and "merchant" in cancel.json()["detail"]
    policy = api.put(probe_url("/tickets/{ticket_id}/policy"), json={"policy_toml": "x = 1"}, headers=key("agent"))
    assert policy.status_code == 403


def test_codec_bearer_token_goes_through_the_same_check(api: httpx.Client) -> None:
    for path in ("/codec/decode", "/codec/encode"):
        assert api.post(path, json={"payloads": []}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert api.post(path, json={"payloads": []}, headers={"Authorization": "Bearer dev-agent"}).status_code == 403
        assert api.post(path, json={"payloads": []}, headers={"Authorization": "Basic dev-admin"}).status_code == 401


@pytest.fixture(scope="module")
def two_tickets(api: httpx.Client) -> list[dict[str, str]]:
    tickets = []
    for _ in range(2):
        body = {"ticket_id": f"SEC-{uuid.uuid4().hex[:10]}", "customer_ref": "sec-customer", "channel": "web",
                "category": "after_sales", "team": "after-sales", "summary": "Security probe"}
        created = api.post("/tickets", json=body, headers=key("agent"))
        assert created.status_code == 201, created.text
        tickets.append({"id": body["ticket_id"], "token": created.json()["customer_token"]})
    return tickets


@pytest.mark.parametrize(("method", "path"), sorted(CUSTOMER_TOKEN | STAFF_OR_CUSTOMER),
                         ids=_ids(sorted(CUSTOMER_TOKEN | STAFF_OR_CUSTOMER)))
def test_customer_tokens_open_only_their_own_ticket(api: httpx.Client, two_tickets: list[dict[str, str]],
                                                    method: str, path: str) -> None:
    mine, other = two_tickets
    url = path.replace("{ticket_id}", mine["id"])
    body = {"reason": "probe"} if path.endswith("customer-reopen") else {"rating": 5}

    def send(headers: dict[str, str]) -> httpx.Response:
        return api.request(method, url, headers=headers, json=body if method == "POST" else None)

    assert send({}).status_code == 401
    assert send({"X-Customer-Token": other["token"]}).status_code == 403
    assert send({"X-Customer-Token": "ct1." + "0" * 40}).status_code == 403
    if (method, path) in CUSTOMER_TOKEN:
        assert send(key("admin")).status_code == 401, "a staff key does not stand in for the customer"
    # The same answer for a ticket that does not exist: a token holder cannot probe which ids exist.
    unknown = api.request(method, path.replace("{ticket_id}", "T-does-not-exist"),
                          headers={"X-Customer-Token": mine["token"]}, json=body if method == "POST" else None)
    assert unknown.status_code == 403, unknown.text
