"""The AES-GCM payload codec on its own: round trip, key rotation, refusal of unknown keys and tampering."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from domain.tickets import TicketInput
from temporal.codec import (
    ENCODING,
    KEY_ID_META,
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadKeyError,
    codec_from_settings,
    data_converter_for,
    new_key,
    parse_keys,
)
from tests.helpers import ticket_input

K1, K2 = f"k1:{new_key()}", f"k2:{new_key()}"


def codec(keys: str) -> EncryptionCodec:
    made = codec_from_settings(keys)
    assert made is not None
    return made


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_round_trip_hides_data_and_metadata() -> None:
    c = codec(K1)
    original = plain("Leaks after two days")
    [sealed] = await c.encode([original])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID_META] == b"k1"
    assert b"Leaks" not in sealed.SerializeToString() and b"json/plain" not in sealed.SerializeToString()
    [again] = await c.encode([original])
    assert again.data != sealed.data  # a fresh nonce per payload
    assert await c.decode([sealed, again]) == [original, original]


async def test_data_converter_round_trips_a_ticket() -> None:
    converter = data_converter_for(K1)
    ticket = ticket_input(customer="0xsecret-customer")
    [encoded] = await converter.encode([ticket])
    assert b"0xsecret-customer" not in encoded.SerializeToString()
    [decoded] = await converter.decode([encoded], [TicketInput])
    assert decoded == ticket


async def test_old_key_still_decodes_after_rotation() -> None:
    [old] = await codec(K1).encode([plain("written under k1")])
    rotated = codec(f"{K2},{K1}")  # k2 is now current, k1 kept for reading
    [new] = await rotated.encode([plain("written under k2")])
    assert new.metadata[KEY_ID_META] == b"k2"
    assert await rotated.decode([old, new]) == [plain("written under k1"), plain("written under k2")]


async def test_unknown_key_id_is_a_clear_error() -> None:
    [sealed] = await codec(K1).encode([plain("x")])
    with pytest.raises(PayloadDecryptionError, match="unknown key id 'k1'.*known ids: \\['k2'\\]"):
        await codec(K2).decode([sealed])


async def test_tampered_or_relabelled_ciphertext_is_refused() -> None:
    c = codec(f"{K1},k9:{new_key()}")
    [sealed] = await c.encode([plain("x")])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="tampered or corrupt"):
        await c.decode([flipped])
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[KEY_ID_META] = b"k9"
    with pytest.raises(PayloadDecryptionError, match="tampered or corrupt"):
        await c.decode([relabelled])


async def test_unencrypted_payloads_pass_through() -> None:
    assert await codec(K1).decode([plain("from before encryption")]) == [plain("from before encryption")]


def test_empty_setting_means_no_encryption() -> None:
    assert codec_from_settings("") is None and codec_from_settings(" , ") is None
    assert data_converter_for("").payload_codec is None


@pytest.mark.parametrize("bad, message", [
    ("k1", "must look like"), (":" + new_key(), "must look like"), ("k1:not base64!", "not valid base64"),
    ("k1:" + new_key()[:20], "not valid base64|AES-256 needs 32"), (f"{K1},{K1}", "listed twice"),
])
def test_malformed_keys_are_refused_without_echoing_them(bad: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message) as err:
        parse_keys(bad)
    secret = bad.partition(":")[2]
    assert not secret or secret not in str(err.value)


def test_parse_keys_keeps_order() -> None:
    assert [k for k, _ in parse_keys(f" {K2} , {K1} ")] == ["k2", "k1"]


async def test_failure_messages_are_encrypted_too() -> None:
    converter = data_converter_for(K1)
    failure = Failure()
    await converter.encode_failure(ApplicationError("insert failed for 'Rue des Secrets 12'"), failure)
    assert b"Rue des Secrets" not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert "Rue des Secrets 12" in str(decoded)
