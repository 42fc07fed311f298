"""Evidence certificates: format, canonical digest, EIP-712 signature, parsing.

A certificate is a JSON document about one ticket. It lists the ticket's anchored milestones (kind,
time, previous leaf, data, leaf), each leaf's Merkle proof and batch, the batches (root, batch id,
transaction, block number and hash), the compensation vouchers issued for the ticket, the chain id
and the contract addresses. See ``docs/certificates.md``.

- **Digest**: ``keccak256(canonical_json(body))`` where the body is the certificate without its
  ``digest`` and ``signature`` fields, and canonical JSON has sorted keys, no spaces and ASCII
  escapes. Whitespace and key order of a file therefore do not matter; every value does.
- **Signature**: the operator signs EIP-712 typed data
  ``Certificate(string ticketId, bytes32 digest)`` in the domain
  ``{name: "Qualitrail Certificate", version: "1", chainId, verifyingContract: registry}``, so a
  contract on that chain could check the very same signature with ``ecrecover``.

Everything here is pure (no I/O). The offline checks are in :py:mod:`domain.certificate_checks`;
the ones that need a chain are in :py:mod:`certificates.verify`. The format is part of the evidence
model: auditors verify old certificates with new code, so a version never changes once issued.
Version 2 differs from version 1 in one respect only: its batches may carry ``"format": 2`` (tree
leaves double-hashed over milestone leaf and kind, ``domain.milestones.tree_leaf``). A certificate
is version 2 exactly when it lists such a batch, so version 1 certificates keep their bytes and digest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import to_checksum_address

from domain.encoding import from_hex, to_hex
from domain.hashing import keccak256
from domain.json_limits import json_depth

__all__ = [
    "CERTIFICATE_FORMAT",
    "CERTIFICATE_FORMAT_V1",
    "CERTIFICATE_FORMATS",
    "EIP712_NAME",
    "EIP712_VERSION",
    "CertificateFormatError",
    "canonical_json",
    "certificate_body",
    "certificate_digest",
    "parse_certificate",
    "recover_signer",
    "shape_problems",
    "sign_certificate",
    "typed_data",
]

CERTIFICATE_FORMAT_V1 = "qualitrail.certificate.v1"
CERTIFICATE_FORMAT = "qualitrail.certificate.v2"  # what certificates with a format 2 batch are
CERTIFICATE_FORMATS = (CERTIFICATE_FORMAT_V1, CERTIFICATE_FORMAT)
EIP712_NAME = "Qualitrail Certificate"
EIP712_VERSION = "1"
# Fields that are not covered by the digest: the digest itself and the signature over it.
UNSIGNED_FIELDS = ("digest", "signature")
# A certificate nests four levels (milestones -> milestone -> data or proof); a file nested deeper
# than this is refused before it is parsed.
MAX_DEPTH = 8

_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SIGNATURE = re.compile(r"^0x[0-9a-f]{130}$")

_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Certificate": [
        {"name": "ticketId", "type": "string"},
        {"name": "digest", "type": "bytes32"},
    ],
}


class CertificateFormatError(ValueError):
    """The input is not a certificate this code can read (not JSON, wrong shape or types)."""


# ---------------------------------------------------------------------------------- codec


def _check_json_value(value: Any, path: str) -> None:
    # Floats have several spellings (1.0, 1e0) and lose precision: the digest must not depend on
    # how a JSON library prints them, so certificates hold only strings, integers, booleans, null.
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CertificateFormatError(f"{path}: keys must be strings")
            _check_json_value(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json_value(item, f"{path}[{i}]")
        return
    raise CertificateFormatError(f"{path}: {type(value).__name__} is not allowed in a certificate")


def _plain_json(value: Any) -> bool:
    """True if ``value`` holds only exact str/int/bool/None, dicts with str keys, lists and tuples.

    The common case, checked without building a path for every node; anything else (a subclass, a
    float) takes :py:func:`_check_json_value`, which accepts or names the offending path.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            if any(type(k) is not str for k in item):
                return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON: sorted keys, no whitespace, ASCII escapes.

    Args:
        value: Strings, integers, booleans, ``None``, lists and string-keyed maps.

    Returns:
        The ASCII bytes.

    Raises:
        CertificateFormatError: If ``value`` holds a float or another type JSON cannot pin down.
    """
    if not _plain_json(value):
        _check_json_value(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def certificate_body(cert: Mapping[str, Any]) -> dict[str, Any]:
    """Return the signed part of ``cert``: everything except ``digest`` and ``signature``.

    Args:
        cert: A certificate (signed or not).

    Returns:
        A shallow copy without the unsigned fields.
    """
    return {k: v for k, v in cert.items() if k not in UNSIGNED_FIELDS}


def certificate_digest(cert: Mapping[str, Any]) -> str:
    """Return ``keccak256(canonical_json(body))`` as ``0x``-hex.

    Args:
        cert: A certificate; its ``digest`` and ``signature`` fields are ignored.

    Returns:
        The digest.
    """
    return "0x" + keccak256(canonical_json(certificate_body(cert))).hex()


def typed_data(ticket_id: str, digest: str, chain_id: int, registry: str) -> dict[str, Any]:
    """Return the EIP-712 typed data the operator signs for a certificate.

    Args:
        ticket_id: The ticket the certificate is about.
        digest: The certificate digest, ``0x`` + 64 hex digits.
        chain_id: The chain the evidence is anchored on.
        registry: The evidence registry's address (EIP-712 ``verifyingContract``).

    Returns:
        The ``full_message`` for ``eth_account.messages.encode_typed_data``.
    """
    return {
        "types": _EIP712_TYPES,
        "primaryType": "Certificate",
        "domain": {
            "name": EIP712_NAME,
            "version": EIP712_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(registry),
        },
        "message": {"ticketId": ticket_id, "digest": from_hex(digest)},
    }


def sign_certificate(body: Mapping[str, Any], private_key: str) -> dict[str, Any]:
    """Sign a certificate body: set ``signer``, then add ``digest`` and ``signature``.

    Args:
        body: The certificate without ``digest``/``signature`` (``signer`` is overwritten).
        private_key: The operator's hex private key. Never logged.

    Returns:
        The signed certificate.
    """
    account = Account.from_key(private_key)
    cert = certificate_body(body)
    cert["signer"] = str(account.address)
    digest = certificate_digest(cert)
    message = encode_typed_data(full_message=typed_data(
        str(cert["ticket_id"]), digest, int(cert["chain_id"]), str(cert["registry"])))
    signed = account.sign_message(message)
    cert["digest"] = digest
    cert["signature"] = to_hex(signed.signature)
    return cert


# The EIP-712 hash, computed directly: eth_account's generic typed-data encoder cost about a
# millisecond per certificate, most of an offline verification. A test holds both equal.
_DOMAIN_TYPE_HASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_CERTIFICATE_TYPE_HASH = keccak256(b"Certificate(string ticketId,bytes32 digest)")


@lru_cache(maxsize=256)
def _domain_separator(chain_id: int, registry: str) -> bytes:
    address = bytes.fromhex(to_checksum_address(registry)[2:])
    return keccak256(_DOMAIN_TYPE_HASH + keccak256(EIP712_NAME.encode()) + keccak256(EIP712_VERSION.encode())
                     + chain_id.to_bytes(32, "big") + address.rjust(32, b"\x00"))


def signing_hash(ticket_id: str, digest: str, chain_id: int, registry: str) -> bytes:
    """The 32-byte EIP-712 hash the operator signs (the hash of :py:func:`typed_data`).

    Raises:
        ValueError: If the chain id is not a uint256, or the digest or registry is malformed.
    """
    if not 0 <= chain_id < 2**256:
        raise ValueError("chain_id must be a uint256")
    struct = keccak256(_CERTIFICATE_TYPE_HASH + keccak256(ticket_id.encode())
                       + from_hex(digest))
    return keccak256(b"\x19\x01" + _domain_separator(chain_id, registry) + struct)


def _standard_v(v: int) -> int:
    # As eth_account reads it: 27/28 (or an EIP-155 value) for Ethereum signatures, 0/1 as is.
    if v >= 35:
        v = 27 + (v - 35) % 2
    if v in (27, 28):
        return v - 27
    if v in (0, 1):
        return v
    raise ValueError(f"signature v={v} is not a recovery id")


def recover_signer(cert: Mapping[str, Any], digest: str | None = None) -> str:
    """Return the address that produced the certificate's signature.

    Args:
        cert: A signed certificate.
        digest: The digest to check the signature over; the recomputed one when ``None``.

    Returns:
        The checksum address.

    Raises:
        ValueError: If the signature is malformed.
    """
    digest = digest if digest is not None else certificate_digest(cert)
    message_hash = signing_hash(str(cert["ticket_id"]), digest, int(cert["chain_id"]), str(cert["registry"]))
    raw = from_hex(str(cert["signature"]))
    if len(raw) != 65:
        raise ValueError("signature must be 65 bytes")
    signature = keys.Signature(signature_bytes=raw[:64] + bytes([_standard_v(raw[64])]))
    return str(signature.recover_public_key_from_msg_hash(message_hash).to_checksum_address())


# ---------------------------------------------------------------------------- parsing


class CertificateTooLarge(CertificateFormatError):
    """A list of the certificate is longer than the verifier accepts; ``field`` names it."""

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(f"{field}: at most {limit} entries")
        self.field = field
        self.limit = limit


def parse_certificate(raw: bytes | str, max_items: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Parse a certificate file and check its shape (not its truth: see the verify functions).

    Args:
        raw: The file's bytes or text (UTF-8 JSON).
        max_items: The longest ``milestones``, ``batches`` and ``vouchers`` lists accepted, checked
            before any other work (a public verifier bounds what one upload can cost).

    Returns:
        The certificate.

    Raises:
        CertificateFormatError: If it is not JSON or not shaped like a version 1 certificate; the
            message says what is wrong (:class:`CertificateTooLarge` for a list over ``max_items``).
    """
    # Depth first, on the raw text: a parser recursing into 200,000 nested arrays can crash the process.
    if json_depth(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw) > MAX_DEPTH:
        raise CertificateFormatError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        cert = json.loads(raw)
        # Lone surrogates ("\ud800") parse but cannot be encoded again, so no page could show them.
        json.dumps(cert, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise CertificateFormatError(f"not valid JSON: {exc}") from exc
    for field, limit in (max_items or {}).items():
        items = cert.get(field) if isinstance(cert, dict) else None
        if isinstance(items, list) and len(items) > limit:
            raise CertificateTooLarge(field, limit)
    problems = shape_problems(cert)
    if problems:
        raise CertificateFormatError("; ".join(problems[:5]))
    assert isinstance(cert, dict)
    return cert


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def shape_problems(cert: Any) -> list[str]:
    """Every way ``cert`` departs from the version 1 shape (empty when it is well formed)."""
    if not isinstance(cert, dict):
        return ["a certificate is a JSON object"]
    problems: list[str] = []

    def need(where: str, ok: bool, what: str) -> None:
        if not ok:
            problems.append(f"{where} must be {what}")

    need("format", cert.get("format") in CERTIFICATE_FORMATS, " or ".join(repr(f) for f in CERTIFICATE_FORMATS))
    need("ticket_id", isinstance(cert.get("ticket_id"), str) and bool(cert.get("ticket_id")), "a string")
    need("chain_id", _is_int(cert.get("chain_id")) and cert["chain_id"] > 0, "a positive integer")
    for field in ("registry", "voucher_contract", "signer"):
        need(field, isinstance(cert.get(field), str) and bool(_ADDRESS.match(cert[field])), "an address")
    need("as_of", isinstance(cert.get("as_of"), str), "a time")
    need("digest", isinstance(cert.get("digest"), str) and bool(_HEX32.match(cert["digest"])),
         "0x + 64 lowercase hex digits")
    need("signature", isinstance(cert.get("signature"), str) and bool(_SIGNATURE.match(cert["signature"])),
         "0x + 130 lowercase hex digits")
    for field in ("milestones", "batches", "vouchers"):
        need(field, isinstance(cert.get(field), list), "a list")
    if problems:
        return problems
    need("milestones", len(cert["milestones"]) > 0, "non-empty")

    def hex32(where: str, value: Any) -> None:
        need(where, isinstance(value, str) and bool(_HEX32.match(value)), "0x + 64 lowercase hex digits")

    for i, m in enumerate(cert["milestones"]):
        where = f"milestones[{i}]"
        if not isinstance(m, dict):
            problems.append(f"{where} must be an object")
            continue
        need(f"{where}.seq", _is_int(m.get("seq")), "an integer")
        need(f"{where}.kind", isinstance(m.get("kind"), str), "a string")
        need(f"{where}.at", isinstance(m.get("at"), str), "a string")
        hex32(f"{where}.prev", m.get("prev"))
        hex32(f"{where}.leaf", m.get("leaf"))
        if m.get("withheld") is True:
            need(f"{where}.data", "data" not in m, "absent when withheld")
        else:
            data = m.get("data")
            need(f"{where}.data", isinstance(data, dict)
                 and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()),
                 "a map of strings")
        need(f"{where}.batch_no", _is_int(m.get("batch_no")), "an integer")
        proof = m.get("proof")
        need(f"{where}.proof", isinstance(proof, list)
             and all(isinstance(p, str) and _HEX32.match(p) for p in proof), "a list of 32-byte hex values")
    for i, b in enumerate(cert["batches"]):
        where = f"batches[{i}]"
        if not isinstance(b, dict):
            problems.append(f"{where} must be an object")
            continue
        for field in ("batch_no", "leaf_count", "block_number"):
            need(f"{where}.{field}", _is_int(b.get(field)), "an integer")
        for field in ("batch_id", "root", "tx_hash", "block_hash"):
            hex32(f"{where}.{field}", b.get(field))
        # Absent means format 1; only a version 2 certificate may list a format 2 batch.
        if "format" in b:
            need(f"{where}.format", cert["format"] == CERTIFICATE_FORMAT and b["format"] == 2,
                 "absent (format 1), or 2 in a version 2 certificate")
    listed: set[int] = set()
    for i, v in enumerate(cert["vouchers"]):
        where = f"vouchers[{i}]"
        if not isinstance(v, dict):
            problems.append(f"{where} must be an object")
            continue
        for field in ("voucher_id", "amount", "block_number"):
            need(f"{where}.{field}", _is_int(v.get(field)), "an integer")
        # Listed twice, one voucher on chain would be counted as two issued to the customer.
        if _is_int(v.get("voucher_id")):
            need(f"{where}.voucher_id", v["voucher_id"] not in listed, "a voucher not listed before")
            listed.add(v["voucher_id"])
        for field in ("breach", "claim_id", "currency"):
            need(f"{where}.{field}", isinstance(v.get(field), str), "a string")
        for field in ("tx_hash", "breach_leaf"):
            hex32(f"{where}.{field}", v.get(field))
    return problems

