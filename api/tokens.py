"""Per-ticket customer tokens: unguessable (HMAC with the operator secret), revocable (versioned).

The token is derived, not stored, so an idempotent retry of ticket creation hands out the same
token, and revoking it is one workflow update that bumps the version.
"""

from __future__ import annotations

import hashlib
import hmac

from settings import Settings


def customer_token(settings: Settings, ticket_id: str, version: int) -> str:
    secret = settings.secret_key.get_secret_value().encode()
    digest = hmac.new(secret, f"customer-token\x00{ticket_id}\x00{version}".encode(), hashlib.sha256)
    return f"ct{version}.{digest.hexdigest()[:40]}"


def check_customer_token(settings: Settings, ticket_id: str, token: str | None, version: int) -> bool:
    if not token:
        return False
    return hmac.compare_digest(customer_token(settings, ticket_id, version).encode(), token.encode())


def observer_token(settings: Settings, observer_id: str) -> str:
    """An enrolled observer's token (reviews and suggestions); derived, so enrolling again repeats it."""
    secret = settings.secret_key.get_secret_value().encode()
    digest = hmac.new(secret, f"observer-token\x00{observer_id}".encode(), hashlib.sha256)
    return f"ob.{digest.hexdigest()[:40]}"
