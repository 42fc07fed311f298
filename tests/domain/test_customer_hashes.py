"""The customer's keyed hashes, checked against docs/evidence-format.md ("Customer hashes").

An auditor holding the operator secret recomputes these with any HMAC library; the repeat-complaint
search relies on the match key being stable per customer and the public one being per ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from domain.milestones import customer_match_hash, customer_ref_hash
from settings import ROOT

SECRET = b"operator-secret-for-tests"
HEX_HASH = re.compile(r"0x[0-9a-f]{64}")


def _hmac(secret: bytes, message: bytes) -> str:
    return "0x" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def test_public_hash_is_the_documented_hmac_over_ticket_and_reference() -> None:
    doc = (ROOT / "docs" / "evidence-format.md").read_text(encoding="utf-8")
    assert '"customer.ticket" || 0x00 || ticket id || 0x00 || customer reference' in doc
    value = customer_ref_hash(SECRET, "T-2026-000042", "客户-13800000000")
    assert HEX_HASH.fullmatch(value)
    expected = _hmac(SECRET, "customer.ticket\x00T-2026-000042\x00客户-13800000000".encode())
    assert value == expected


def test_match_key_is_the_documented_hmac_over_the_reference_alone() -> None:
    doc = (ROOT / "docs" / "evidence-format.md").read_text(encoding="utf-8")
    assert '"customer" || 0x00 || reference' in doc
    value = customer_match_hash(SECRET, "客户-13800000000")
    assert HEX_HASH.fullmatch(value)
    assert value == _hmac(SECRET, "customer\x00客户-13800000000".encode())


def test_two_tickets_of_one_customer_cannot_be_linked_but_the_server_matches_them() -> None:
    first = customer_ref_hash(SECRET, "T-1", "alice")
    second = customer_ref_hash(SECRET, "T-2", "alice")
    assert first != second  # public values: unlinkable across tickets
    assert customer_ref_hash(SECRET, "T-1", "alice") == first  # stable for one ticket
    assert customer_match_hash(SECRET, "alice") == customer_match_hash(SECRET, "alice")
    assert customer_match_hash(SECRET, "alice") != customer_match_hash(SECRET, "bob")
    # The match key never equals a ticket's public value, so publishing one reveals nothing of the other.
    assert customer_match_hash(SECRET, "alice") not in (first, second)


def test_without_the_secret_a_guess_cannot_be_tested() -> None:
    assert customer_ref_hash(SECRET, "T-1", "alice") != customer_ref_hash(b"another-secret", "T-1", "alice")
    assert customer_match_hash(SECRET, "alice") != customer_match_hash(b"another-secret", "alice")
    # Not a plain (unkeyed) hash of the reference either.
    assert customer_match_hash(SECRET, "alice") != "0x" + hashlib.sha256(b"customer\x00alice").hexdigest()


def test_ticket_and_reference_cannot_be_shifted_into_each_other() -> None:
    # The NUL separator keeps ("T-1", "0alice") and ("T-10", "alice") apart.
    assert customer_ref_hash(SECRET, "T-1", "0alice") != customer_ref_hash(SECRET, "T-10", "alice")
