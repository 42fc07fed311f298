"""Sealing of service-record texts: what an operator and an intruder with database access would try."""

from __future__ import annotations

import base64

import pytest

from services.service_record import RecordKeyError, TextSealer, sealer_for, text_hash
from settings import Settings

K1 = base64.b64encode(b"\x01" * 32).decode()
K2 = base64.b64encode(b"\x02" * 32).decode()
WHERE = {"ticket_id": "T-1", "text_hash": "0xabc", "kind": "note"}


def test_sealed_text_opens_only_for_its_own_ticket_hash_and_kind() -> None:
    sealer = sealer_for(Settings(record_keys=f"k1:{K1}"))  # type: ignore[arg-type]
    sealed = sealer.seal("Mrs Doe called twice", **WHERE)
    assert "Mrs Doe" not in sealed and b"Mrs Doe" not in base64.b64decode(sealed)
    assert sealer.open(sealed, key_id="k1", **WHERE) == "Mrs Doe called twice"
    for field, other in (("ticket_id", "T-2"), ("text_hash", "0xabd"), ("kind", "reply")):
        with pytest.raises(ValueError):  # a row copied onto another ticket or milestone does not open
            sealer.open(sealed, key_id="k1", **{**WHERE, field: other})
    tampered = bytearray(base64.b64decode(sealed))
    tampered[14] ^= 1
    with pytest.raises(ValueError):
        sealer.open(base64.b64encode(bytes(tampered)).decode(), key_id="k1", **WHERE)


def test_rotation_new_key_seals_old_key_still_opens() -> None:
    old = sealer_for(Settings(record_keys=f"k1:{K1}"))  # type: ignore[arg-type]
    sealed = old.seal("before rotation", **WHERE)
    rotated = sealer_for(Settings(record_keys=f"k2:{K2},k1:{K1}"))  # type: ignore[arg-type]
    assert rotated.key_id == "k2"
    assert rotated.open(sealed, key_id="k1", **WHERE) == "before rotation"
    with pytest.raises(ValueError, match="not configured"):
        sealer_for(Settings(record_keys=f"k2:{K2}")).open(sealed, key_id="k1", **WHERE)  # type: ignore[arg-type]


def test_default_key_is_derived_from_the_secret_key() -> None:
    a = sealer_for(Settings(secret_key="one-secret"))  # type: ignore[arg-type]
    b = sealer_for(Settings(secret_key="another-secret"))  # type: ignore[arg-type]
    sealed = a.seal("text", **WHERE)
    assert a.open(sealed, key_id=a.key_id, **WHERE) == "text"
    with pytest.raises(ValueError):
        b.open(sealed, key_id=b.key_id, **WHERE)


@pytest.mark.parametrize("setting, message", [
    ("k1", "must look like"), (f":{K1}", "must look like"), ("k1:not base64!", "not valid base64"),
    (f"k1:{base64.b64encode(b'short').decode()}", "5 bytes"),
])
def test_malformed_key_setting_is_refused_without_echoing_key_material(setting: str, message: str) -> None:
    with pytest.raises(RecordKeyError, match=message) as err:
        sealer_for(Settings(record_keys=setting))  # type: ignore[arg-type]
    assert K1 not in str(err.value)


def test_no_keys_refused() -> None:
    with pytest.raises(RecordKeyError):
        TextSealer([])


def test_text_hash_is_keyed_and_empty_text_has_none() -> None:
    a, b = Settings(secret_key="s1"), Settings(secret_key="s2")  # type: ignore[call-arg]
    assert text_hash(a, "same words") != text_hash(b, "same words")
    assert text_hash(a, "") == ""
