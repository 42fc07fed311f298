"""The chain as the activities see it: one Web3 connection, the role accounts, the contracts.

:py:class:`ChainContext` is built from :py:class:`settings.Settings` and connects lazily, so a
worker starts (and its non-chain activities run) while the node is still down; chain activities
then fail and Temporal retries them.

Keys: each role has its own ``QT_*_KEY`` setting. An empty setting on a local Anvil (chain id
31337) means "use Anvil's well-known development account" for that role — 0 deployer/admin,
1 anchorer, 2 issuer, 3 redeemer, 4 certificate signer. On any other chain an empty key is an
error, and a well-known key is refused (:py:func:`contracts.keys.check_key_allowed`). Keys are
never logged, printed or put in an exception message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from temporalio import activity
from temporalio.exceptions import ApplicationError
from web3 import Web3
from web3.exceptions import BlockNotFound

from contracts.clients import EvidenceRegistryClient, TransactionSender, VoucherClient, rpc_batch
from contracts.deploy import Deployment, artifacts_code_hash, code_matches_artifact, deploy_contracts
from contracts.keys import ANVIL_CHAIN_ID, DEV_ACCOUNTS, check_key_allowed, is_dev_key
from settings import Settings

__all__ = [
    "FAULT_ENV",
    "ROLES",
    "ChainContext",
    "block_hash_at",
    "ensure_deployed",
    "fault_point",
    "heartbeat",
    "heartbeating",
    "wait_confirmed",
]

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


# TEST HOOK, off unless set: QT_FAULT_KILL_AFTER=<point> makes the worker SIGKILL itself at that
# point, to prove exactly-once across a crash between a transaction and its record. Points:
# "anchor_sent" (anchor tx mined, batch not recorded) and "voucher_sent" (voucher tx mined, voucher
# not recorded). Never set it in production.
FAULT_ENV: Final = "QT_FAULT_KILL_AFTER"


def fault_point(name: str) -> None:
    """Test hook: kill this process with SIGKILL if ``QT_FAULT_KILL_AFTER`` names ``name``.

    Read at every call (not at start), so a test can arm it for one process only.

    Args:
        name: The point reached, e.g. ``"voucher_sent"``.
    """
    if os.environ.get(FAULT_ENV, "") == name:
        log.warning("test hook %s=%s: killing process %d", FAULT_ENV, name, os.getpid())
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)


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
                    self._deployment = _read_deployment(self)
            return self._deployment

    def registry(self) -> EvidenceRegistryClient:
        """Return the registry client that signs as the anchorer.

        Returns:
            The client.
        """
        return self._client("registry:anchorer", EvidenceRegistryClient, "anchorer")

    def registry_reader(self) -> EvidenceRegistryClient:
        """Return a read-only registry client.

        Returns:
            The client.
        """
        return self._client("registry:reader", EvidenceRegistryClient, None)

    def voucher_reader(self) -> VoucherClient:
        """Return a read-only voucher client (needs no key).

        Returns:
            The client.
        """
        return self._client("voucher:reader", VoucherClient, None)

    def issuer(self) -> VoucherClient:
        """Return the voucher client that signs as the issuer.

        Returns:
            The client.
        """
        return self._client("voucher:issuer", VoucherClient, "issuer")

    def redeemer(self) -> VoucherClient:
        """Return the voucher client that signs as the redeemer.

        Returns:
            The client.
        """
        return self._client("voucher:redeemer", VoucherClient, "redeemer")

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


def _read_deployment(context: ChainContext) -> Deployment:
    # Without a deployer key (production keeps the admin key offline) the worker only uses a
    # deployment made elsewhere, and checks the chain really has that code.
    chain_id = context.chain_id()
    path = context.settings.var_dir / "deployments" / f"{chain_id}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"no deployment record {path} and no deployer key to deploy") from exc
    deployment = Deployment(int(record["chain_id"]), record["registry"], record["voucher"],
                            record["code_hash"], int(record["block_number"]))
    if deployment.code_hash != artifacts_code_hash() or not (
        code_matches_artifact(context.w3, deployment.registry, "EvidenceRegistry")
        and code_matches_artifact(context.w3, deployment.voucher, "CompensationVoucher")
    ):
        raise RuntimeError(f"the contracts recorded in {path} are not on chain {chain_id} as built")
    return deployment


def ensure_deployed(settings: Settings, *, context: ChainContext | None = None) -> Deployment:
    """Deploy the contracts once per chain (or reuse the recorded deployment) and grant the roles.

    The record lives in ``settings.var_dir / "deployments" / "<chain id>.json"``; see
    :py:func:`contracts.deploy.deploy_contracts` for when it is reused.

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
    )


def heartbeat(*details: Any) -> None:
    """Heartbeat when running as an activity (a no-op when called directly, e.g. by the bench)."""
    if activity.in_activity():
        activity.heartbeat(*details)


@contextmanager
def heartbeating(interval: float = 2.0) -> Iterator[None]:
    """Heartbeat from a helper thread while the block runs (a no-op outside an activity).

    Sends and receipt waits block in web3 for as long as the chain takes, so the activity thread
    cannot heartbeat itself. With heartbeats flowing, the workflow can use a short heartbeat
    timeout and a worker killed mid-transaction is noticed in seconds, not at the end of a long
    start-to-close timeout.

    Args:
        interval: Seconds between heartbeats.
    """
    if not activity.in_activity():
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            activity.heartbeat()

    # The copied context carries the activity's context into the helper thread.
    helper = threading.Thread(target=contextvars.copy_context().run, args=(beat,), daemon=True,
                              name="qualitrail-heartbeat")
    helper.start()
    try:
        yield
    finally:
        stop.set()
        helper.join(timeout=interval + 1)


def wait_confirmed(chain: ChainContext, block_number: int, block_hash: str, poll: float = 0.2) -> bool:
    """Wait until ``block_number`` has ``chain_confirmations`` blocks on top and still has its hash.

    Used when an earlier attempt's transaction is found on chain: it must be as final as a
    transaction this attempt would have waited for.

    Args:
        chain: The chain.
        block_number: The block to confirm.
        block_hash: Its expected hash.
        poll: Seconds between polls.

    Returns:
        ``False`` if the block was replaced meanwhile (the caller looks again).
    """
    needed = chain.settings.chain_confirmations
    deadline = time.monotonic() + chain.receipt_timeout
    while needed > 0 and chain.w3.eth.block_number - block_number < needed:
        if time.monotonic() > deadline:
            raise ApplicationError(f"block {block_number} did not get {needed} confirmations in time")
        heartbeat()
        time.sleep(poll)
    return block_hash_at(chain, block_number) == block_hash.lower()


def block_hash_at(chain: ChainContext, number: int) -> str | None:
    """Return the hash of block ``number`` as lowercase ``0x``-hex, or ``None`` past the head.

    Args:
        chain: The chain.
        number: Block number.

    Returns:
        The hash.
    """
    try:
        return "0x" + bytes(chain.w3.eth.get_block(number)["hash"]).hex()
    except BlockNotFound:
        return None


def standing_marks(chain: ChainContext, marks: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Return the ``(block number, block hash)`` marks still on the chain that stands.

    Every mark is checked (in batched requests): after a rewind the chain can grow past the old
    head again, so a newer standing block says nothing about a mark recorded before the rewind.

    Args:
        chain: The chain.
        marks: Recorded ``(number, 0x-hash)`` pairs.

    Returns:
        The subset whose block is still there with the same hash.
    """
    wanted = sorted({(n, h.lower()) for n, h in marks if h})
    numbers = sorted({n for n, _ in wanted})
    blocks = rpc_batch(chain.w3, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    hashes = {n: (b or {}).get("hash", "").lower() for n, b in zip(numbers, blocks, strict=True)}
    return {(n, h) for n, h in wanted if hashes.get(n) == h}
