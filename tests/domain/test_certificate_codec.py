"""The certificate codec's edges (domain/certificate.py): what an auditor's own tools must reproduce.

Pure tests, no chain. Each pins a rule the offline verifier relies on and which the mutation run
(docs/testing.md) showed no test held: the typed data as docs/certificates.md publishes it, the
chain ids and signature ``v`` values accepted, where a refused value is named, the upload limits,
and the shape rules for batch formats and malformed entries after the first.
"""

from __future__ import annotations

import copy
import json
from enum import StrEnum
from typing import Any

import pytest
from eth_account.messages import encode_typed_data

from domain.certificate import (
    CERTIFICATE_FORMAT,
    CERTIFICATE_FORMAT_V1,
    MAX_DEPTH,
    CertificateFormatError,
    CertificateTooLarge,
    _plain_json,
    _standard_v,
    canonical_json,
    parse_certificate,
    recover_signer,
    shape_problems,
    signing_hash,
    typed_data,
)
from domain.hashing import keccak256
from tests.domain.test_certificate_rules import OPERATOR, REGISTRY, TICKET, _cert

DIGEST = "0x" + "5a" * 32


def test_typed_data_is_the_documented_eip712_message() -> None:
    # docs/certificates.md prints this dict for auditors: another EIP-712 library (ethers, MetaMask's
    # signTypedData_v4) needs every field, primaryType included, to recover the operator.
    assert typed_data(TICKET, DIGEST, 31337, REGISTRY.lower()) == {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Certificate": [{"name": "ticketId", "type": "string"}, {"name": "digest", "type": "bytes32"}],
        },
        "primaryType": "Certificate",
        "domain": {"name": "Qualitrail Certificate", "version": "1", "chainId": 31337,
                   "verifyingContract": REGISTRY},
        "message": {"ticketId": TICKET, "digest": bytes.fromhex("5a" * 32)},
    }


@pytest.mark.parametrize("chain_id", [0, 1, 31337, 2**256 - 1])
def test_signing_hash_takes_every_uint256_chain_id(chain_id: int) -> None:
    # What eth_account signs for the same typed data: 0x19 ‖ version ‖ domain separator ‖ struct hash.
    message = encode_typed_data(full_message=typed_data(TICKET, DIGEST, chain_id, REGISTRY))
    expected = keccak256(b"\x19" + message.version + message.header + message.body)
    assert signing_hash(TICKET, DIGEST, chain_id, REGISTRY) == expected


@pytest.mark.parametrize("chain_id", [-1, 2**256, 2**257 - 1])
def test_signing_hash_refuses_a_chain_id_outside_uint256(chain_id: int) -> None:
    with pytest.raises(ValueError, match="uint256"):
        signing_hash(TICKET, DIGEST, chain_id, REGISTRY)


@pytest.mark.parametrize(("v", "recovery_id"), [(0, 0), (1, 1), (27, 0), (28, 1), (35, 0), (36, 1), (37, 0),
                                                (38, 1), (254, 1), (255, 0)])
def test_signature_v_values_read_as_eth_account_reads_them(v: int, recovery_id: int) -> None:
    # 0/1 as is, 27/28 (Ethereum), and EIP-155 values (35 + 2 * chain id + recovery id).
    assert _standard_v(v) == recovery_id and type(_standard_v(v)) is int


@pytest.mark.parametrize("v", [2, 3, 26, 29, 30, 34])
def test_signature_v_values_that_are_no_recovery_id_are_refused(v: int) -> None:
    with pytest.raises(ValueError, match=f"v={v} is not a recovery id"):
        _standard_v(v)


def test_the_operator_is_recovered_whatever_spelling_of_v_the_signature_uses() -> None:
    cert = _cert()
    raw = bytes.fromhex(cert["signature"][2:])
    recovery_id = raw[64] - 27
    for v in (recovery_id, 27 + recovery_id, 35 + recovery_id, 37 + recovery_id):
        respelled = {**cert, "signature": "0x" + (raw[:64] + bytes([v])).hex()}
        assert recover_signer(respelled) == OPERATOR, v
    with pytest.raises(ValueError):
        recover_signer({**cert, "signature": "0x" + (raw[:64] + bytes([29])).hex()})
    with pytest.raises(ValueError, match="65 bytes"):
        recover_signer({**cert, "signature": cert["signature"][:-2]})


class _Label(StrEnum):
    A = "a"


def test_plain_json_is_true_exactly_for_exact_json_types() -> None:
    # The fast path of canonical_json: True only for exact str/int/bool/None, str-keyed dicts, lists
    # and tuples, however they are mixed; anything else goes to the slow check that names the path.
    for plain in ("x", 1, True, None, [], {}, ["a", 1, None], ("a", [True]), {"a": {"b": ["c", 2, None]}},
                  {"a": "x", "b": 1, "c": [{"d": False}]}):
        assert _plain_json(plain), plain
    for not_plain in (1.5, {"a": 1.5, "b": "x"}, {"b": "x", "a": 1.5}, ["x", 1.5], [1.5, "x"], {1: "x"},
                      {"a": "x", 2: "y"}, _Label.A, {"a": [_Label.A]}, b"x"):
        assert not _plain_json(not_plain), not_plain


def test_canonical_json_accepts_str_and_int_subclasses_and_names_the_refused_value() -> None:
    # A str enum value in a body encodes as its text, like the str it is.
    assert canonical_json({"kind": _Label.A, "n": [1, True]}) == b'{"kind":"a","n":[1,true]}'
    assert canonical_json([_Label.A, None, True]) == b'["a",null,true]'
    for value, where in (({"a": "x", "b": 1.5}, r"\$\.b: float"), ({"m": [{"x": "s"}, {"y": [0, 2.5]}]},
                                                                     r"\$\.m\[1\]\.y\[1\]: float"),
                         ([_Label.A, {"k": b"x"}], r"\$\[1\]\.k: bytes"), ({"a": {3: "x"}}, r"\$\.a: keys")):
        with pytest.raises(CertificateFormatError, match="^" + where):
            canonical_json(value)


def test_a_lone_surrogate_is_refused_as_a_format_error_in_text_and_in_bytes() -> None:
    cert = _cert()
    text = json.dumps(cert)
    assert TICKET in text
    escaped = text.replace(f'"{TICKET}"', '"T-\\ud800"')  # the JSON escape of a lone surrogate
    raw_char = text.replace(f'"{TICKET}"', '"T-\ud800"')  # the code point itself, in a Python str
    for raw in (escaped, escaped.encode(), raw_char):
        with pytest.raises(CertificateFormatError, match="not valid JSON"):
            parse_certificate(raw)


def test_depth_limit_is_exactly_max_depth() -> None:
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    with pytest.raises(CertificateFormatError) as allowed:
        parse_certificate(deepest)
    assert str(allowed.value) == "a certificate is a JSON object"  # parsed, then refused for its shape
    for raw in ("[" + deepest + "]", ("[" + deepest + "]").encode()):
        with pytest.raises(CertificateFormatError, match=f"nested deeper than {MAX_DEPTH} levels"):
            parse_certificate(raw)


def test_list_limits_refuse_only_longer_lists_and_name_the_field() -> None:
    cert = _cert()  # 5 milestones, 2 batches, 1 voucher
    raw = json.dumps(cert)
    assert parse_certificate(raw, {"milestones": 5, "batches": 2, "vouchers": 1}) == cert
    for field, limit in (("milestones", 4), ("batches", 1), ("vouchers", 0)):
        with pytest.raises(CertificateTooLarge) as refused:
            parse_certificate(raw, {"milestones": 5, "batches": 2, "vouchers": 1, field: limit})
        assert (refused.value.field, refused.value.limit) == (field, limit)
        assert str(refused.value) == f"{field}: at most {limit} entries"
    # Limits on what is not an object (or not a list) leave the shape check to refuse it.
    for not_a_cert in ("[1, 2, 3]", '"milestones"', json.dumps({**cert, "milestones": "x" * 10})):
        with pytest.raises(CertificateFormatError) as refused_shape:
            parse_certificate(not_a_cert, {"milestones": 1})
        assert not isinstance(refused_shape.value, CertificateTooLarge)


def test_the_format_problem_names_both_versions() -> None:
    assert shape_problems({**_cert(), "format": "qualitrail.certificate.v9"}) == [
        "format must be 'qualitrail.certificate.v1' or 'qualitrail.certificate.v2'"]


def test_chain_id_1_is_a_chain_like_any_other() -> None:
    assert shape_problems({**_cert(), "chain_id": 1}) == []
    assert shape_problems({**_cert(), "chain_id": -1}) == ["chain_id must be a positive integer"]


def test_every_malformed_entry_is_named_not_only_the_first() -> None:
    cert = copy.deepcopy(_cert())
    cert["milestones"][0] = "x"
    cert["milestones"][1]["prev"] = "0x00"
    cert["batches"][0] = []
    cert["batches"][1]["root"] = None
    cert["vouchers"] = [1, {**cert["vouchers"][0], "tx_hash": "0xAB"}]
    assert shape_problems(cert) == [
        "milestones[0] must be an object",
        "milestones[1].prev must be 0x + 64 lowercase hex digits",
        "batches[0] must be an object",
        "batches[1].root must be 0x + 64 lowercase hex digits",
        "vouchers[0] must be an object",
        "vouchers[1].tx_hash must be 0x + 64 lowercase hex digits",
    ]


@pytest.mark.parametrize(("cert_format", "batch_format", "ok"), [
    (CERTIFICATE_FORMAT, 2, True),
    (CERTIFICATE_FORMAT, 1, False),   # format 1 is written by leaving the key out
    (CERTIFICATE_FORMAT, 3, False),
    (CERTIFICATE_FORMAT, "2", False),
    (CERTIFICATE_FORMAT_V1, 2, False),  # a version 1 certificate predates format 2 batches
    (CERTIFICATE_FORMAT_V1, 1, False),
])
def test_a_batch_format_must_be_2_and_only_in_a_version_2_certificate(cert_format: str, batch_format: Any,
                                                                      ok: bool) -> None:
    cert = copy.deepcopy(_cert())
    cert["format"] = cert_format
    cert["batches"][1]["format"] = batch_format
    expected = [] if ok else ["batches[1].format must be absent (format 1), or 2 in a version 2 certificate"]
    assert shape_problems(cert) == expected
    del cert["batches"][1]["format"]
    assert shape_problems(cert) == []



def test_a_voucher_listed_twice_is_a_format_error_naming_the_second() -> None:
    # One voucher on chain listed twice would be reported as two issued to the customer.
    cert = copy.deepcopy(_cert())
    first = cert["vouchers"][0]
    other = {**first, "voucher_id": first["voucher_id"] + 1}
    cert["vouchers"] = [first, {**first, "amount": first["amount"] + 1}, other]
    assert shape_problems(cert) == ["vouchers[1].voucher_id must be a voucher not listed before"]
    assert shape_problems({**cert, "vouchers": [first, other]}) == []
