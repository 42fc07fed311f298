"""Read-model tables of the console's sign-in: a person's account and their signed-in sessions.

An account extends the directory of people (``readmodel/alert_models.py:Person``): the same id, so
the person alerts reach is the person who signs in. Written only through ``readmodel/accounts.py``.
Nothing secret is stored in the clear: the password as an argon2 hash, invitation and session
tokens as SHA-256 digests (the cookie holds the token, the table its digest).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


# One person's sign-in: role (the API's roles), password hash, lock-out counters, preferences.
class Account(SQLModel, table=True):
    person_id: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=32)
    # A supplier manager's suppliers, "sup-a|sup-b" ("*": every supplier); empty for other roles.
    suppliers: str = Field(default="", max_length=1000)
    password_hash: str = Field(default="", max_length=256)  # argon2id; empty until the invitation is used
    invite_hash: str | None = Field(default=None, index=True, max_length=64)
    invite_expires_at: datetime | None = None
    language: str = Field(default="zh", max_length=8)
    time_zone: str = Field(default="", max_length=64)  # empty: the policy's calendar time zone
    failed_logins: int = 0
    locked_until: datetime | None = None
    active: bool = True
    created_at: datetime
    updated_at: datetime


# One signed-in browser: the cookie's token digest, its CSRF token and when it ends.
class ConsoleSession(SQLModel, table=True):
    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(index=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime = Field(index=True)
