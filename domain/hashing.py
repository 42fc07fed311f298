"""Keccak-256, the hash the EVM uses, for leaves and Merkle nodes.

Pure code with no I/O: it is imported inside Temporal workflow sandboxes. The sandbox must pass
the ``Crypto`` package through (``SandboxRestrictions.default.with_passthrough_modules("Crypto")``):
importing pycryptodome calls ``platform.architecture()``, which runs a subprocess the sandbox forbids.
"""

from __future__ import annotations

from Crypto.Hash import keccak

__all__ = ["keccak256"]


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data``.

    This is Ethereum's ``keccak256`` (original Keccak padding), not NIST SHA3-256.

    Args:
        data: The bytes to hash.

    Returns:
        The 32-byte digest.
    """
    return keccak.new(digest_bits=256, data=bytes(data)).digest()
