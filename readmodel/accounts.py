"""The console's accounts and sessions: invitations, sign-in counters, lock-out, session rows.

Hashing and token making are the caller's (``console/auth.py``): this module stores digests and
counters only, and never sees a password or a token in the clear.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from readmodel.account_models import Account, ConsoleSession
from readmodel.alert_models import Person
from readmodel.paging import page


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive: they were written in UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def invite(*, session: Session, person: Person, role: str, suppliers: str, invite_hash: str,
           expires_at: datetime, now: datetime) -> Account:
    """Adds (or updates) the person in the directory and gives them an account waiting for its password.

    Inviting again replaces the invitation and the role, and unlocks the account; a password set
    before stays until the new invitation is used.
    """
    existing_person = session.get(Person, person.id)
    if existing_person is None:
        session.add(person)
    else:
        for name in ("display_name", "email", "team", "role", "active", "updated_at"):
            setattr(existing_person, name, getattr(person, name))
        session.add(existing_person)
    account = session.get(Account, person.id)
    if account is None:
        account = Account(person_id=person.id, role=role, suppliers=suppliers, created_at=now, updated_at=now)
    account.role, account.suppliers, account.active = role, suppliers, True
    account.invite_hash, account.invite_expires_at = invite_hash, expires_at
    account.failed_logins, account.locked_until, account.updated_at = 0, None, now
    session.add(account)
    session.commit()
    session.refresh(account)
    return account


def get_account(*, session: Session, person_id: str) -> Account | None:
    account = session.get(Account, person_id)
    if account is not None:
        account.locked_until = _aware(account.locked_until)
        account.invite_expires_at = _aware(account.invite_expires_at)
    return account


def by_invitation(*, session: Session, invite_hash: str, now: datetime) -> Account | None:
    """The account an unexpired invitation belongs to."""
    account = session.exec(select(Account).where(Account.invite_hash == invite_hash)).first()
    if account is None or not account.active:
        return None
    expires = _aware(account.invite_expires_at)
    return account if expires is not None and expires > now else None


def set_password(*, session: Session, person_id: str, password_hash: str, now: datetime) -> None:
    """Stores the new hash, uses up the invitation and ends every session of the account."""
    account = session.get(Account, person_id)
    assert account is not None
    account.password_hash, account.invite_hash, account.invite_expires_at = password_hash, None, None
    account.failed_logins, account.locked_until, account.updated_at = 0, None, now
    session.add(account)
    session.exec(delete(ConsoleSession).where(col(ConsoleSession.person_id) == person_id))
    session.commit()


def set_password_hash(*, session: Session, person_id: str, password_hash: str, now: datetime) -> None:
    """The same password hashed again with new cost parameters; sessions stay."""
    session.exec(update(Account).where(col(Account.person_id) == person_id)
                 .values(password_hash=password_hash, updated_at=now))
    session.commit()


def record_failure(*, session: Session, person_id: str, attempts: int, lock_until: datetime,
                   now: datetime) -> bool:
    """Counts a failed sign-in; the ``attempts``-th in a row locks the account. Returns True when locked now."""
    account = session.get(Account, person_id)
    if account is None:
        return False
    account.failed_logins += 1
    locked = account.failed_logins >= attempts
    if locked:
        account.locked_until, account.failed_logins = lock_until, 0
    account.updated_at = now
    session.add(account)
    session.commit()
    return locked


def record_success(*, session: Session, person_id: str, now: datetime) -> None:
    session.exec(update(Account).where(col(Account.person_id) == person_id)
                 .values(failed_logins=0, locked_until=None, updated_at=now))
    session.commit()


def set_role(*, session: Session, person_id: str, role: str, suppliers: str, active: bool, now: datetime) -> bool:
    """Changes an account's role; a deactivated account's sessions end at once."""
    account = session.get(Account, person_id)
    if account is None:
        return False
    account.role, account.suppliers, account.active, account.updated_at = role, suppliers, active, now
    session.add(account)
    if not active:
        session.exec(delete(ConsoleSession).where(col(ConsoleSession.person_id) == person_id))
    session.commit()
    return True


def set_preferences(*, session: Session, person_id: str, language: str, time_zone: str, now: datetime) -> None:
    session.exec(update(Account).where(col(Account.person_id) == person_id)
                 .values(language=language, time_zone=time_zone, updated_at=now))
    session.commit()


def list_accounts(*, session: Session, offset: int = 0, limit: int = 200) -> tuple[list[Account], int]:
    return page(session, Account, [], [col(Account.person_id)], offset=offset, limit=limit)


def start_session(*, session: Session, token_hash: str, person_id: str, csrf_token: str, now: datetime,
                  expires_at: datetime) -> None:
    session.add(ConsoleSession(token_hash=token_hash, person_id=person_id, csrf_token=csrf_token,
                               created_at=now, expires_at=expires_at))
    # Sessions that ended are removed as new ones start: the table holds live sessions only.
    session.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) < now))
    session.commit()


def find_session(*, session: Session, token_hash: str, now: datetime) -> tuple[ConsoleSession, Account] | None:
    """A live session and its active account."""
    row = session.get(ConsoleSession, token_hash)
    if row is None or (_aware(row.expires_at) or now) <= now:
        return None
    account = get_account(session=session, person_id=row.person_id)
    if account is None or not account.active or not account.password_hash:
        return None
    return row, account


def end_session(*, session: Session, token_hash: str) -> None:
    session.exec(delete(ConsoleSession).where(col(ConsoleSession.token_hash) == token_hash))
    session.commit()
