"""Security tests: the real stack for the API (``stack``/``api`` from tests/conftest.py), and the
contract fixtures of tests/contracts (their own Anvil, contracts deployed with the dev keys)."""

from __future__ import annotations

from tests.contracts.conftest import anvil, dev_accounts, fresh, w3

__all__ = ["anvil", "dev_accounts", "fresh", "w3"]
