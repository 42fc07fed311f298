"""Keccak-256, the hash the EVM uses, for leaves and Merkle nodes.

Pure code with no I/O: it is imported inside Temporal workflow sandboxes (the worker passes
``domain`` and ``Crypto`` through: importing pycryptodome calls ``platform.architecture()``, which
runs a subprocess the sandbox forbids). The C Keccak of ``safe-pysha3`` is used when installed: per
call it is about 7x faster than pycryptodome's, and certificate checks hash thousands of times.
"""

from __future__ import annotations

from collections.abc import Callable

from Crypto.Hash import keccak

__all__ = ["keccak256"]


def _pycryptodome(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _fastest() -> Callable[[bytes], bytes]:
    try:
        from sha3 import keccak_256
    except ImportError:
        return _pycryptodome
    if keccak_256(b"").digest() != _pycryptodome(b""):  # never trust a backend that disagrees
        return _pycryptodome
    return lambda data: keccak_256(data).digest()


_KECCAK = _fastest()


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data``.

    This is Ethereum's ``keccak256`` (original Keccak padding), not NIST SHA3-256.

    Args:
        data: The bytes to hash.

    Returns:
        The 32-byte digest.
    """
    return _KECCAK(bytes(data))
