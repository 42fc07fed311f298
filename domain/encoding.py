"""Byte and time spellings shared by every layer: one way to write a hash and an instant.

Hashes travel as ``0x``-prefixed lower-case hex (JSON, the read model, certificates); instants as
UTC ISO 8601 with microseconds and a ``Z`` suffix. Pure code, imported inside workflow sandboxes.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

__all__ = ["bytes32", "format_time", "from_hex", "parse_key_list", "parse_time", "to_hex"]


def to_hex(value: bytes | bytearray) -> str:
    """``0x``-prefixed lower-case hex of ``value``."""
    return "0x" + bytes(value).hex()


def from_hex(value: str) -> bytes:
    """The bytes of a hex string, with or without its ``0x`` prefix.

    Raises:
        ValueError: If ``value`` is not hex.
    """
    return bytes.fromhex(value.removeprefix("0x"))


def bytes32(value: bytes | bytearray, what: str) -> bytes:
    """``value`` checked to be exactly 32 bytes (a hash, a root, an id) before it reaches a contract.

    Raises:
        ValueError: Naming ``what`` if the value is not 32 bytes.
    """
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return bytes(value)


def format_time(at: datetime) -> str:
    """UTC, microsecond precision, 'Z' suffix: one spelling per instant."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """An ISO 8601 instant (``Z`` or an offset) as an aware UTC datetime; a naive one is read as UTC.

    Raises:
        ValueError: If ``value`` is not an ISO 8601 date-time.
    """
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_key_list(value: str, what: str, error: type[ValueError] = ValueError,
                   key_bytes: int = 32) -> list[tuple[str, bytes]]:
    """``"k2:<base64 of 32 bytes>,k1:<base64>"`` -> ``[("k2", b"..."), ("k1", b"...")]``, first key first.

    The one spelling of rotating AES-256 keys in settings (payload keys, record keys). Messages name
    ``what`` and the key id, never key material.

    Raises:
        error: If an entry is malformed, not base64, not ``key_bytes`` long, or an id is listed twice.
    """
    out: list[tuple[str, bytes]] = []
    for index, item in enumerate(p.strip() for p in value.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise error(f"{what} #{index + 1} must look like '<id>:<base64 of {key_bytes} bytes>'")
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise error(f"{what} {key_id!r} is not valid base64") from None
        if len(raw) != key_bytes:
            raise error(f"{what} {key_id!r} is {len(raw)} bytes; AES-256 needs {key_bytes}")
        if any(existing == key_id for existing, _ in out):
            raise error(f"{what} id {key_id!r} is listed twice")
        out.append((key_id, raw))
    return out
