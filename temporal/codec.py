"""Encrypts every Temporal payload (workflow inputs, activity arguments, results, queries) with AES-256-GCM.

The Temporal server, its database and its backups only ever see ciphertext, so ticket text and customer
references are not stored in plain text there. Keys come from settings as ``"k2:<base64>,k1:<base64>"``:
the first key encrypts, every listed key decrypts, and each payload carries the id of its key so keys can
rotate while old histories stay readable (see docs/decisions/005-payload-encryption.md).
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Sequence

import temporalio.converter
from Crypto.Cipher import AES
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from domain.encoding import parse_key_list

ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random per payload, so one key can seal ~2^32 payloads safely
TAG_BYTES = 16


class PayloadKeyError(ValueError):
    """The key setting is malformed (the message never contains key material)."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload cannot be decrypted: unknown key id, or tampered/corrupt ciphertext."""


def parse_keys(keys: str) -> list[tuple[str, bytes]]:
    """``"k2:<base64 32 bytes>,k1:<base64>"`` -> ``[("k2", b"..."), ("k1", b"...")]``, current key first."""
    return parse_key_list(keys, "payload key", PayloadKeyError, KEY_BYTES)


def new_key() -> str:
    """A fresh key in the setting's base64 form (for operators: ``python -c '...; print(new_key())'``)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the whole serialized payload (its metadata, e.g. ``json/plain``, included)."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise PayloadKeyError("EncryptionCodec needs at least one key")
        self.key_id, self._key = keys[0]
        self._keys = dict(keys)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        # The key id is authenticated too, so a payload cannot be relabelled to another key unnoticed.
        cipher.update(self.key_id.encode())
        sealed, tag = cipher.encrypt_and_digest(payload.SerializeToString())
        return Payload(metadata={"encoding": ENCODING, KEY_ID_META: self.key_id.encode()},
                       data=nonce + sealed + tag)

    def decrypt(self, payload: Payload) -> Payload:
        # Payloads written before encryption was switched on pass through, so old histories stay readable.
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_META, b"").decode(errors="replace")
        key = self._keys.get(key_id)
        if key is None:
            raise PayloadDecryptionError(
                f"payload encrypted with unknown key id {key_id!r}; known ids: {sorted(self._keys)} "
                "(keep retired keys in QT_PAYLOAD_KEYS until no history needs them)")
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError(f"encrypted payload (key {key_id!r}) is too short to be valid")
        cipher = AES.new(key, AES.MODE_GCM, nonce=data[:NONCE_BYTES])
        cipher.update(key_id.encode())
        try:
            plain = cipher.decrypt_and_verify(data[NONCE_BYTES:-TAG_BYTES], data[-TAG_BYTES:])
        except ValueError:
            raise PayloadDecryptionError(
                f"encrypted payload (key {key_id!r}) failed authentication: tampered or corrupt") from None
        return Payload.FromString(plain)


def codec_from_settings(keys: str) -> EncryptionCodec | None:
    """The codec for a ``QT_PAYLOAD_KEYS`` value; None when it is empty (payloads stay unencrypted)."""
    parsed = parse_keys(keys)
    return EncryptionCodec(parsed) if parsed else None


def data_converter_for(keys: str) -> DataConverter:
    """Temporal's default converter plus our codec: what every client of the cluster must use.

    With encryption on, failure messages and stack traces are moved into an encoded payload too: an
    exception text (a database error quoting its parameters, say) could otherwise carry ticket text
    into the history in the clear.
    """
    codec = codec_from_settings(keys)
    if codec is None:
        return temporalio.converter.default()
    return dataclasses.replace(temporalio.converter.default(), payload_codec=codec,
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
