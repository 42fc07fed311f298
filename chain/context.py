"""The chain as the worker and the API see it: one Web3 connection, the role accounts, the contracts.

:py:class:`ChainContext` is built from :py:class:`settings.Settings` and connects lazily, so a
worker starts (and its non-chain activities run) while the node is still down; chain activities
then fail and Temporal retries them.

Keys: each role has its own ``QT_*_KEY`` setting. An empty setting on a local Anvil (chain id
31337) means "use Anvil's well-known development account" for that role — 0 deployer/admin,
1 anchorer, 2 issuer, 3 redeemer, 4 certificate signer. On any other chain an empty key is an
error, and a well-known key is refused (:py:func:`chain.keys.check_key_allowed`). Keys are
never logged, printed or put in an exception message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Final, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain import rpc
from chain.base import TxMark
from chain.deployment import Deployment, deploy_contracts, read_deployment
from chain.keys import ANVIL_CHAIN_ID, DEV_ACCOUNTS, check_key_allowed, is_dev_key
from chain.registry import EvidenceRegistryClient
from chain.sender import TransactionSender
from chain.voucher import VoucherClient
from domain.policy import load_policy
from settings import Settings

__all__ = ["ROLES", "ChainContext", "MarkKeepsMoving", "ensure_deployed"]

_C = TypeVar("_C", EvidenceRegistryClient, VoucherClient)

log = logging.getLogger("qualitrail.chain")

# Account 4 of Anvil's public "test test ... junk" mnemonic: the development certificate signer.
_DEV_SIGNER_KEY: Final = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"

# role -> settings field holding its key.
ROLES: Final[dict[str, str]] = {
    "deployer": "deployer_key",
    "anchorer": "anchor_key",
    "issuer": "issuer_key",
    "redeemer": "redeemer_key",
    "signer": "signer_key",
}
_DEV_KEYS: Final[dict[str, str]] = {**DEV_ACCOUNTS, "signer": _DEV_SIGNER_KEY}


class MarkKeepsMoving(RuntimeError):
    """A transaction kept moving between blocks while it was being confirmed (a reorg in progress)."""


class ChainContext:
    """Web3, accounts, senders and contract clients for one settings object.

    Thread-safe: activities run in a thread pool and share one context.

    Args:
        settings: Where to connect (``rpc_url``), the keys, confirmations and ``var_dir``.
        deployment: Contract addresses; when ``None`` they are resolved at first use with
            :py:func:`ensure_deployed` (or read from the deployment record when no deployer key
            is available).
        w3: An existing connection (tests); made from ``settings.rpc_url`` when ``None``.
        receipt_timeout: Seconds a transaction may take to be mined and confirmed.
        deploy: Whether :py:meth:`deployment` may deploy. The API passes ``False``: only the
            worker deploys, so two processes never race to deploy on a fresh chain.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        deployment: Deployment | None = None,
        w3: Web3 | None = None,
        receipt_timeout: float = 120.0,
        deploy: bool = True,
    ) -> None:
        self.settings = settings
        self.deploy = deploy
        self.receipt_timeout = receipt_timeout
        self._w3 = w3
        self._deployment = deployment
        self._chain_id: int | None = None
        self._accounts: dict[str, LocalAccount] = {}
        self._senders: dict[str, TransactionSender] = {}
        self._clients: dict[str, EvidenceRegistryClient | VoucherClient] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ connection and keys

    @property
    def w3(self) -> Web3:
        """The Web3 connection to ``settings.rpc_url``."""
        with self._lock:
            if self._w3 is None:
                self._w3 = Web3(Web3.HTTPProvider(self.settings.rpc_url, request_kwargs={"timeout": 30}))
            return self._w3

    def chain_id(self) -> int:
        """Return the chain id (read once from the node).

        Returns:
            The chain id.
        """
        with self._lock:
            if self._chain_id is None:
                self._chain_id = int(self.w3.eth.chain_id)
            return self._chain_id

    def has_key(self, role: str) -> bool:
        """Tell whether ``role`` can sign here: its key is set, or this is a local Anvil.

        Args:
            role: One of :py:data:`ROLES`.

        Returns:
            ``True`` if :py:meth:`account` would return an account.
        """
        secret = getattr(self.settings, ROLES[role]).get_secret_value().strip()
        return bool(secret) or self.chain_id() == ANVIL_CHAIN_ID

    def account(self, role: str) -> LocalAccount:
        """Return the signing account of ``role``.

        Args:
            role: One of :py:data:`ROLES`.

        Returns:
            The account.

        Raises:
            KeyError: If ``role`` is unknown.
            ValueError: If the key is missing on a non-Anvil chain, or a well-known key would be
                used on one. Messages name the setting, never the key.
        """
        field = ROLES[role]
        with self._lock:
            cached = self._accounts.get(role)
            if cached is not None:
                return cached
            chain_id = self.chain_id()
            secret = getattr(self.settings, field).get_secret_value().strip()
            if not secret:
                if chain_id != ANVIL_CHAIN_ID:
                    raise ValueError(
                        f"QT_{field.upper()} is not set; development keys are only used on chain id "
                        f"{ANVIL_CHAIN_ID}, this node is chain id {chain_id}"
                    )
                secret = _DEV_KEYS[role]
            check_key_allowed(chain_id, secret)
            account: LocalAccount = Account.from_key(secret)
            if is_dev_key(secret):
                log.info("using the Anvil development account %s as %s", account.address, role)
            self._accounts[role] = account
            return account

    def sender(self, role: str) -> TransactionSender:
        """Return the one transaction sender of ``role`` (nonces always read from the chain).

        Args:
            role: One of :py:data:`ROLES`.

        Returns:
            The sender.
        """
        with self._lock:
            sender = self._senders.get(role)
            if sender is None:
                sender = TransactionSender(
                    self.w3, self.account(role), confirmations=self.settings.chain_confirmations,
                    receipt_timeout=self.receipt_timeout,
                )
                self._senders[role] = sender
            return sender

    # ------------------------------------------------------------------ contracts

    def deployment(self) -> Deployment:
        """Return the contract addresses, deploying or reading the record at first use.

        Returns:
            The deployment.
        """
        with self._lock:
            if self._deployment is None:
                if self.deploy and self.has_key("deployer"):
                    self._deployment = ensure_deployed(self.settings, context=self)
                else:
                    self._deployment = read_deployment(self.w3, self.chain_id(),
                                                       self.settings.var_dir / "deployments")
            return self._deployment

    def registry(self) -> EvidenceRegistryClient:
        """The registry client that signs as the anchorer."""
        return self._client("registry:anchorer", EvidenceRegistryClient, "anchorer")

    def registry_reader(self) -> EvidenceRegistryClient:
        """A read-only registry client."""
        return self._client("registry:reader", EvidenceRegistryClient, None)

    def voucher_reader(self) -> VoucherClient:
        """A read-only voucher client (needs no key)."""
        return self._client("voucher:reader", VoucherClient, None)

    def issuer(self) -> VoucherClient:
        """The voucher client that signs as the issuer."""
        return self._client("voucher:issuer", VoucherClient, "issuer")

    def redeemer(self) -> VoucherClient:
        """The voucher client that signs as the redeemer."""
        return self._client("voucher:redeemer", VoucherClient, "redeemer")

    # ------------------------------------------------------------------ block marks

    def wait_confirmed(self, block_number: int, block_hash: str, *,
                       on_poll: Callable[[], None] = lambda: None) -> bool:
        """Wait for this chain's confirmations on a block found on chain; ``False`` if it was replaced."""
        return rpc.wait_confirmed(self.w3, block_number, block_hash, confirmations=self.settings.chain_confirmations,
                                  timeout=self.receipt_timeout, on_poll=on_poll)

    def confirmed(self, find: Callable[[], TxMark | None], what: str, *,
                  on_poll: Callable[[], None] = lambda: None) -> TxMark | None:
        """Look a transaction up with ``find`` until it stands confirmed; ``None`` if it is not on chain.

        Raises:
            MarkKeepsMoving: If it moved to another block three times while being confirmed.
        """
        for _ in range(3):
            found = find()
            if found is None:
                return None
            if self.wait_confirmed(found.block_number, found.block_hash, on_poll=on_poll):
                return found
        raise MarkKeepsMoving(f"{what} keeps moving between blocks")

    def standing_marks(self, marks: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
        """The recorded ``(number, hash)`` marks still on the chain that stands (see :py:mod:`chain.rpc`)."""
        return rpc.standing_marks(self.w3, marks)

    def _client(self, name: str, kind: type[_C], role: str | None) -> _C:
        # Clients parse their ABI when made: make each once. They hold no per-call state.
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                deployment = self.deployment()
                address = deployment.registry if kind is EvidenceRegistryClient else deployment.voucher
                client = kind(self.w3, address, sender=self.sender(role) if role else None)
                self._clients[name] = client
            assert isinstance(client, kind)
            return client


def ensure_deployed(settings: Settings, *, context: ChainContext | None = None) -> Deployment:
    """Deploy the contracts once per chain (or reuse the recorded deployment) and grant the roles.

    The record lives in ``settings.var_dir / "deployments" / "<chain id>.json"``; see
    :py:func:`chain.deployment.deploy_contracts` for when it is reused.

    Args:
        settings: Connection, keys and ``var_dir``.
        context: An existing context to reuse its connection and accounts.

    Returns:
        The deployment.

    Raises:
        ValueError: If a key is missing or a well-known key is used off Anvil.
    """
    ctx = context or ChainContext(settings)
    return deploy_contracts(
        ctx.w3,
        ctx.account("deployer"),
        anchorer=ctx.account("anchorer").address,
        issuer=ctx.account("issuer").address,
        redeemer=ctx.account("redeemer").address,
        record_dir=settings.var_dir / "deployments",
        confirmations=settings.chain_confirmations,
        max_voucher_amount=load_policy(settings.policy_file).compensation.voucher_cap,
    )
