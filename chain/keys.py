"""Anvil's well-known development keys, and the guard that keeps them off real chains.

The keys below are derived from Anvil's public default mnemonic ("test test ... junk"): anyone can
sign with them, so they are only acceptable on a local Anvil chain (chain id 31337). Never log or
print a private key, these or any other.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ANVIL_CHAIN_ID",
    "DEV_ACCOUNTS",
    "DEV_ADDRESSES",
    "DEV_PRIVATE_KEYS",
    "check_key_allowed",
    "is_dev_key",
]

ANVIL_CHAIN_ID: Final = 31337

# Accounts 0..3 of Anvil's default mnemonic, as Anvil 1.7.1 prints them at start-up. Roles in
# development: 0 deployer/admin, 1 anchorer, 2 issuer, 3 redeemer.
DEV_PRIVATE_KEYS: Final[tuple[str, ...]] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)
DEV_ADDRESSES: Final[tuple[str, ...]] = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
)
DEV_ACCOUNTS: Final[dict[str, str]] = {
    "deployer": DEV_PRIVATE_KEYS[0],
    "anchorer": DEV_PRIVATE_KEYS[1],
    "issuer": DEV_PRIVATE_KEYS[2],
    "redeemer": DEV_PRIVATE_KEYS[3],
}

# Accounts 4..9 of the same mnemonic: never used by Qualitrail, but just as public, so refused too.
_OTHER_PUBLIC_KEYS: Final = (
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)


def _normalise(private_key: str) -> str:
    key = private_key.strip().lower()
    return key[2:] if key.startswith("0x") else key


_PUBLIC_KEYS: Final = frozenset(_normalise(k) for k in DEV_PRIVATE_KEYS + _OTHER_PUBLIC_KEYS)


def is_dev_key(private_key: str) -> bool:
    """Tell whether ``private_key`` is one of Anvil's public development keys.

    Args:
        private_key: Hex private key, with or without ``0x``.

    Returns:
        ``True`` for a well-known key.
    """
    return _normalise(private_key) in _PUBLIC_KEYS


def check_key_allowed(chain_id: int, private_key: str) -> None:
    """Refuse a well-known Anvil key on any chain but a local Anvil (chain id 31337).

    Args:
        chain_id: The chain the key is about to sign for.
        private_key: Hex private key, with or without ``0x``.

    Raises:
        ValueError: If a well-known key would be used on another chain. The message never
            contains the key.
    """
    if chain_id != ANVIL_CHAIN_ID and is_dev_key(private_key):
        raise ValueError(f"well-known Anvil dev key refused on chain id {chain_id}")
