"""TransactionSender: chain-read nonces, revert decoding, concurrency, confirmations."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from web3 import Web3

from chain.registry import EvidenceRegistryClient
from chain.reverts import ContractRevertError, decode_revert
from chain.sender import TransactionSender
from contracts.compile import load_artifact
from tests.contracts.helpers import Clients, DevAccounts, expect_revert, random32


def test_decode_revert_names_custom_errors() -> None:
    abi = load_artifact("EvidenceRegistry")["abi"]
    root = bytes(range(32))
    selector = Web3.keccak(text="EvidenceRegistryRootAlreadyAnchored(bytes32)")[:4]
    assert decode_revert(abi, "0x" + (selector + root).hex()) == (
        "EvidenceRegistryRootAlreadyAnchored",
        (root,),
    )
    assert decode_revert(abi, "0xdeadbeef") == (None, ())
    assert decode_revert(abi, None) == (None, ())


def test_mined_revert_is_decoded_from_a_replay(w3: Web3, clients: Clients, dev_accounts: DevAccounts) -> None:
    root = random32()
    clients.registry.anchor(root, 1, random32())
    sender = TransactionSender(w3, dev_accounts.anchorer)
    call = clients.registry.contract.functions.anchor(root, 1, random32())
    # A fixed gas limit skips estimation, so the transaction is mined and fails with status 0.
    error = expect_revert(
        "EvidenceRegistryRootAlreadyAnchored",
        lambda: sender.send(call, abi=clients.registry.abi, gas=200_000),
    )
    assert error.tx_hash is not None
    assert w3.eth.get_transaction_receipt(error.tx_hash)["status"] == 0


def test_nonce_is_read_from_the_chain_after_a_rollback(w3: Web3, clients: Clients) -> None:
    # evm_revert drops mined blocks, like a reorganisation or an Anvil restored from an old dump.
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    dropped_root, batch_id = random32(), random32()
    clients.registry.anchor(dropped_root, 1, batch_id)
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    assert clients.registry.anchor_info(dropped_root) is None

    # The same sender keeps working (a cached nonce would now be ahead of the chain) ...
    clients.registry.anchor(random32(), 1, random32())
    # ... and the dropped batch can be sent again: it lands once on the chain that stands.
    clients.registry.anchor(dropped_root, 1, batch_id)
    assert clients.registry.batch_root(batch_id) == dropped_root


def test_concurrent_sends_from_one_account(w3: Web3, clients: Clients, dev_accounts: DevAccounts) -> None:
    # Separate clients for the same key share the per-account lock, so nonces never collide.
    registries = [
        EvidenceRegistryClient(w3, clients.deployment.registry, dev_accounts.anchorer) for _ in range(4)
    ]
    roots = [random32() for _ in range(16)]
    with ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(lambda i: registries[i % 4].anchor(roots[i], 1, random32()), range(16)))
    assert len({r.tx_hash for r in receipts}) == 16
    assert all(clients.registry.anchor_info(root) is not None for root in roots)


def test_waits_for_confirmations(w3: Web3, clients: Clients, dev_accounts: DevAccounts) -> None:
    registry = EvidenceRegistryClient(w3, clients.deployment.registry, dev_accounts.anchorer, confirmations=2)
    stop = threading.Event()

    def mine() -> None:
        # Automining Anvil makes no block without a transaction: mine a few by hand.
        local = Web3(Web3.HTTPProvider(w3.provider.endpoint_uri))  # type: ignore[attr-defined]
        while not stop.wait(0.2):
            local.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        started = time.monotonic()
        receipt = registry.anchor(random32(), 1, random32())
        assert w3.eth.block_number - receipt.block_number >= 2
        assert time.monotonic() - started >= 0.3
    finally:
        stop.set()
        miner.join()


def test_read_only_client_refuses_to_send(w3: Web3, clients: Clients) -> None:
    reader = EvidenceRegistryClient(w3, clients.deployment.registry)
    assert reader.batch_root(random32()) is None
    with pytest.raises(RuntimeError, match="read-only"):
        reader.anchor(random32(), 1, random32())


def test_bad_sizes_are_refused_before_sending(clients: Clients) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        clients.registry.anchor(b"short", 1, random32())
    with pytest.raises(ContractRevertError):
        clients.registry.anchor(random32(), 0, random32())
