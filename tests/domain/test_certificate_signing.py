"""The fast EIP-712 path agrees with eth_account's generic encoder on every input.

``recover_signer`` computes the typed-data hash itself (domain/certificate.py); an auditor's wallet
or a contract computes it the standard way. Any difference would make genuine certificates fail or
let a signature over other data pass, so both are compared over generated inputs.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.certificate import recover_signer, typed_data

KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
SIGNER = Account.from_key(KEY).address


@settings(max_examples=60, deadline=None)
@given(ticket_id=st.text(min_size=1, max_size=80), digest=st.binary(min_size=32, max_size=32),
       chain_id=st.integers(min_value=0, max_value=2**256 - 1), registry=st.binary(min_size=20, max_size=20))
def test_fast_recovery_matches_the_standard_encoding(ticket_id: str, digest: bytes, chain_id: int,
                                                     registry: bytes) -> None:
    address, hex_digest = "0x" + registry.hex(), "0x" + digest.hex()
    signed = Account.sign_message(encode_typed_data(full_message=typed_data(ticket_id, hex_digest, chain_id, address)),
                                  KEY)
    cert = {"ticket_id": ticket_id, "chain_id": chain_id, "registry": address,
            "signature": "0x" + bytes(signed.signature).hex()}
    assert recover_signer(cert, hex_digest) == SIGNER
    # Any other field signed over gives another signer: the hash covers every field.
    assert recover_signer({**cert, "ticket_id": ticket_id + "x"}, hex_digest) != SIGNER
    assert recover_signer({**cert, "chain_id": chain_id ^ 1}, hex_digest) != SIGNER
    other = "0x" + bytes([digest[0] ^ 1]).hex() + hex_digest[4:]
    assert recover_signer(cert, other) != SIGNER


def test_a_malformed_recovery_id_is_refused() -> None:
    message = encode_typed_data(full_message=typed_data("T-1", "0x" + "11" * 32, 1, "0x" + "22" * 20))
    bad = bytes(Account.sign_message(message, KEY).signature)[:64] + bytes([5])
    with pytest.raises(ValueError, match="recovery id"):
        recover_signer({"ticket_id": "T-1", "chain_id": 1, "registry": "0x" + "22" * 20,
                        "signature": "0x" + bad.hex()}, "0x" + "11" * 32)
