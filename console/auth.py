"""Sign-in for people: argon2id passwords, sessions in cookies, CSRF tokens, lock-out (decision 016).

The cookie holds a random session token; the read model holds its SHA-256 digest, the account and a
CSRF token bound to the session. Every form carries that CSRF token and every POST checks it (the
sign-in form, which has no session yet, checks a double-submit token: a cookie and the form field).
A password or a token never reaches a log: nothing here logs them, and forms are parsed by
``console/forms.py``, whose errors name the field, never its value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, Response, status
from sqlmodel import Session

from api.deps import SessionDep, SettingsDep
from readmodel import accounts
from readmodel.account_models import Account
from readmodel.db import session_scope
from settings import Settings

SESSION_COOKIE = "qt_console"
LOGIN_CSRF_COOKIE = "qt_console_csrf"
PREFIX = "/console"
ROLES = ("agent", "supervisor", "quality", "auditor", "reviewer", "team_head", "supplier_manager", "merchant",
         "external_evaluator", "admin")
MIN_PASSWORD = 12
MAX_PASSWORD = 256



@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int) -> tuple[PasswordHasher, str]:
    """argon2id with the settings' cost, and a hash of a random password to verify against for an
    unknown id (so an unknown id costs what a wrong password does)."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=4)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def hasher(settings: Settings) -> tuple[PasswordHasher, str]:
    return _hasher(settings.console_password_memory_kib, settings.console_password_time_cost)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_password(settings: Settings, password: str) -> str:
    return hasher(settings)[0].hash(password)


def password_problem(password: str, person_id: str) -> str | None:
    """Why a new password is refused (a message key of console/i18n.py), or None."""
    if len(password) < MIN_PASSWORD:
        return "password_too_short"
    if len(password) > MAX_PASSWORD:
        return "password_too_long"
    if password.lower() == person_id.lower():
        return "password_is_id"
    return None


def check_password(settings: Settings, account: Account | None, password: str) -> bool:
    argon, dummy = hasher(settings)
    stored = account.password_hash if account is not None and account.password_hash else dummy
    ok: bool
    try:
        ok = argon.verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and account is not None and bool(account.password_hash)


@dataclass
class ConsoleUser:
    """The signed-in person, as each page sees them."""

    person_id: str
    role: str
    suppliers: frozenset[str] | None  # a supplier manager's suppliers; None: every supplier
    language: str
    time_zone: str
    csrf: str
    token_hash: str
    expires_at: datetime | None = None  # the session's end

    @property
    def actor(self) -> str:
        """How milestones name the person: role and directory id (no secret, unlike an API key)."""
        return f"{self.role}:{self.person_id}"

    def may(self, *roles: str) -> bool:
        return self.role in roles or self.role == "admin"


class NeedsSignIn(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def suppliers_of(account: Account) -> frozenset[str] | None:
    if account.role != "supplier_manager" or account.suppliers == "*":
        return None
    return frozenset(s for s in account.suppliers.split("|") if s)


def current_user(request: Request, session: SessionDep) -> ConsoleUser:
    token = request.cookies.get(SESSION_COOKIE, "")
    found = accounts.find_session(session=session, token_hash=digest(token), now=datetime.now(UTC)) \
        if 20 <= len(token) <= 100 else None
    if found is None:
        raise NeedsSignIn(request.url.path)
    row, account = found
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return ConsoleUser(person_id=account.person_id, role=account.role, suppliers=suppliers_of(account),
                       language=account.language, time_zone=account.time_zone, csrf=row.csrf_token,
                       token_hash=row.token_hash, expires_at=expires)


UserDep = Annotated[ConsoleUser, Depends(current_user)]


def require(*roles: str) -> object:
    """A dependency admitting signed-in people whose role is one of ``roles`` (admin always): else 403."""

    def check(user: UserDep) -> ConsoleUser:
        return admit(user, roles)

    return Depends(check)


def admit(user: ConsoleUser, roles: tuple[str, ...]) -> ConsoleUser:
    if not user.may(*roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role!r} may not open this page")
    return user


def signed_in(request: Request, db_url: str, roles: tuple[str, ...]) -> ConsoleUser:
    """What ``require(*roles)`` admits, read in a database session of its own that is given back at
    once: for an answer that lasts (a stream), which must not hold a connection while it does."""
    with session_scope(db_url) as session:
        user = current_user(request, session)
    return admit(user, roles)


def check_csrf(expected: str, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "csrf: the form's token is missing or wrong; reload the page")


def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, secure=True, samesite="strict")


def sign_in(session: Session, settings: Settings, person_id: str, password: str) -> tuple[str, ConsoleUser] | str:
    """A new session's cookie token and user, or the message key of why not."""
    now = datetime.now(UTC)
    account = accounts.get_account(session=session, person_id=person_id) if person_id else None
    if account is not None and account.locked_until is not None and account.locked_until > now:
        check_password(settings, None, password)  # the same cost as any other refusal
        return "sign_in_failed"
    if account is None or not account.active or not check_password(settings, account, password):
        if account is not None:
            accounts.record_failure(session=session, person_id=account.person_id,
                                    attempts=settings.console_login_attempts,
                                    lock_until=now + timedelta(minutes=settings.console_lockout_minutes), now=now)
        return "sign_in_failed"
    accounts.record_success(session=session, person_id=account.person_id, now=now)
    if hasher(settings)[0].check_needs_rehash(account.password_hash):  # the cost settings changed
        accounts.set_password_hash(session=session, person_id=account.person_id,
                                   password_hash=hash_password(settings, password[:MAX_PASSWORD]), now=now)
    token, csrf = new_token(), new_token()
    accounts.start_session(session=session, token_hash=digest(token), person_id=account.person_id, csrf_token=csrf,
                           now=now, expires_at=now + timedelta(hours=settings.console_session_hours))
    return token, ConsoleUser(account.person_id, account.role, suppliers_of(account), account.language,
                              account.time_zone, csrf, digest(token))


__all__ = ["ConsoleUser", "NeedsSignIn", "SettingsDep", "UserDep", "check_csrf", "current_user", "require",
           "sign_in"]
