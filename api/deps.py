"""Request dependencies: settings, database session, Temporal client, the chain, API-key roles, customer tokens."""

from __future__ import annotations

import hashlib
import hmac
import pathlib
import threading
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request, status
from sqlmodel import Session
from temporalio.client import Client

from api.schemas import ID_PATTERN
from api.tokens import check_customer_token
from api.workflows import TICKETS
from chain.context import ChainContext
from domain.policy import Policy, load_policy
from readmodel.db import session_scope
from settings import PERSON_BOUND, Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_db(settings: SettingsDep) -> AsyncIterator[Session]:
    with session_scope(settings.db_url) as session:
        yield session


# At most this many requests hold a read-model session at once, fewer than the pool's connections
# (readmodel/db.py): the others wait on the event loop, not in a thread. Without the bound, a burst
# deadlocked: FastAPI serialises a sync endpoint's answer in the same thread pool the endpoints run
# in, so every thread could wait for a connection that only a finished request would give back
# (bench/api_load.py: GET /tickets answered 500 at 100 clients, after the 30 s pool timeout).
DB_SESSIONS = 30
SessionDep = Annotated[Session, Depends(get_db, max_concurrency=DB_SESSIONS)]


def get_temporal(request: Request) -> Client:
    client: Client | None = getattr(request.app.state, "temporal", None)
    if client is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Temporal is not connected")
    return client


TemporalDep = Annotated[Client, Depends(get_temporal)]


@lru_cache(maxsize=4)
def _policy_of(path: pathlib.Path) -> Policy:
    return load_policy(path)


def get_policy(request: Request, settings: SettingsDep) -> Policy:
    """The policy the app loaded at start, or (a router mounted in another app) the settings' file."""
    policy: Policy | None = getattr(request.app.state, "policy", None)
    return policy if policy is not None else _policy_of(settings.policy_file)


PolicyDep = Annotated[Policy, Depends(get_policy)]


class Caller:
    def __init__(self, role: str, key_id: str, suppliers: frozenset[str] | None = None,
                 fingerprint: str = "", person: str | None = None) -> None:
        self.role = role
        self.key_id = key_id  # a non-secret name for logs and milestones: "<role>#<n>"
        self.suppliers = suppliers  # a supplier manager's suppliers; None: not restricted
        self.fingerprint = fingerprint  # keyed hash of the key itself: tells callers apart, reveals nothing
        self.person = person  # the person a person-bound key belongs to (settings.PERSON_BOUND)

    def check_person(self, person_id: str, what: str) -> None:
        """A person-bound role sees only its own person's ``what``; the other roles allowed there, anyone's."""
        if self.role not in PERSON_BOUND:
            return
        if self.person is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this {self.role} key names no person, so it sees no "
                                f"{what}: configure it as key:{self.role}:<person-id>")
        if self.person != person_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"a {self.role} sees only their own {what}")

    def check_supplier(self, supplier_id: str) -> None:
        """404 for a supplier outside the key's scope, as for one that does not exist (decision 010)."""
        if self.suppliers is None or supplier_id in self.suppliers:
            return
        if not self.suppliers:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this supplier_manager key names no supplier: "
                                "configure it as key:supplier_manager:<supplier-id>|...")
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no supplier {supplier_id}")


def current_caller(settings: SettingsDep,
                   x_api_key: Annotated[str | None, Header(description="Staff API key")] = None) -> Caller:
    if not x_api_key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-API-Key header",
                            headers={"WWW-Authenticate": "ApiKey"})
    for index, entry in enumerate(settings.api_key_entries()):
        if hmac.compare_digest(entry.key.encode(), x_api_key.encode()):
            fingerprint = hmac.new(settings.secret_key.get_secret_value().encode(),
                                   b"api-key\x00" + entry.key.encode(), hashlib.sha256).hexdigest()[:32]
            return Caller(entry.role, f"{entry.role}#{index}", entry.suppliers, fingerprint, entry.person)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key",
                        headers={"WWW-Authenticate": "ApiKey"})


def require_roles(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency that admits only callers whose key has one of ``roles`` (admin always)."""

    def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.role not in roles and caller.role != "admin":
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {caller.role!r} may not do this; needs one of {sorted(roles)}")
        return caller

    return check


STAFF = ("agent", "supervisor", "quality", "auditor")
AgentDep = Annotated[Caller, Depends(require_roles("agent", "supervisor"))]
SupervisorDep = Annotated[Caller, Depends(require_roles("supervisor"))]
StaffReaderDep = Annotated[Caller, Depends(require_roles(*STAFF))]
QualityDep = Annotated[Caller, Depends(require_roles("quality", "supervisor"))]
RedeemerDep = Annotated[Caller, Depends(require_roles("agent", "merchant"))]
AdminDep = Annotated[Caller, Depends(require_roles("admin"))]


# ------------------------------------------------------------------ the chain

_CHAINS: dict[tuple[str, str], ChainContext] = {}
_CHAINS_LOCK = threading.Lock()


def get_chain(settings: SettingsDep) -> ChainContext:
    """One chain context per RPC URL and deployment folder, made at first use.

    The API never deploys (``deploy=False``): it uses the deployment the worker recorded.
    """
    key = (settings.rpc_url, str(settings.var_dir))
    with _CHAINS_LOCK:
        chain = _CHAINS.get(key)
        if chain is None:
            chain = _CHAINS[key] = ChainContext(settings, deploy=False)
        return chain


ChainDep = Annotated[ChainContext, Depends(get_chain)]


# ------------------------------------------------------------------ customers

TicketId = Annotated[str, Path(pattern=ID_PATTERN, description="ticket id")]
CustomerToken = Annotated[str | None, Header(alias="X-Customer-Token", max_length=128)]


async def check_customer(ticket_id: TicketId, client: TemporalDep, settings: SettingsDep,
                         x_customer_token: CustomerToken = None) -> None:
    """The ticket's customer token, checked as a dependency so it comes before body validation."""
    if not x_customer_token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-Customer-Token header")
    try:
        version: int | None = (await TICKETS.state(client, ticket_id)).token_version
    except HTTPException as exc:
        if exc.status_code != status.HTTP_404_NOT_FOUND:
            raise
        version = None
    # An unknown ticket answers like a wrong token, so a token holder cannot probe which ids exist.
    if version is None or not check_customer_token(settings, ticket_id, x_customer_token, version):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "customer token is not valid for this ticket")


CustomerDep = Annotated[None, Depends(check_customer)]
