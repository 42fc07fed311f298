"""Checks of a certificate against a chain: roots anchored, blocks still there, vouchers' status.

The offline checks (digest, signature, hash chain, Merkle inclusion) are pure and live in
``domain.certificate``; everything here asks an EVM JSON-RPC endpoint. The auditor passes *their
own* node, so nothing in these checks trusts the operator's servers: the registry and voucher
addresses come from the signed certificate, their code is compared with the published artifacts,
and every root, block hash, transaction and voucher is read from the chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from web3 import Web3
from web3.exceptions import TransactionNotFound

from chain.deployment import code_matches_artifact
from chain.registry import EvidenceRegistryClient
from chain.rpc import rpc_batch
from chain.voucher import VoucherClient
from domain.certificate_checks import Check, CheckStatus, verify_certificate_offline
from domain.encoding import from_hex, to_hex
from domain.evidence_types import claim_hash
from domain.hashing import keccak256
from domain.milestones import MilestoneKind

__all__ = ["summarise", "verify_certificate", "verify_on_chain"]


def _check_network(cert: Mapping[str, Any], w3: Web3) -> tuple[Check, int | None]:
    title = "Connected to the right blockchain"
    try:
        chain_id = int(w3.eth.chain_id)
        head = int(w3.eth.block_number)
    except Exception as exc:  # noqa: BLE001 - any transport error means "could not check"
        return Check("network", title, CheckStatus.FAIL,
                     f"The blockchain node could not be reached, so nothing could be checked on chain: "
                     f"{type(exc).__name__}."), None
    if chain_id != int(cert["chain_id"]):
        return Check("network", title, CheckStatus.FAIL,
                     f"The node serves chain {chain_id}, but the certificate is for chain {cert['chain_id']}."
                     ), None
    return Check("network", title, CheckStatus.PASS,
                 f"The node serves chain {chain_id}, the certificate's chain; its newest block is {head}."), head


def _check_contracts(cert: Mapping[str, Any], w3: Web3, voucher: VoucherClient,
                     trusted_registry: str | None) -> Check:
    title = "Genuine Qualitrail contracts"
    problems: list[str] = []
    registry, voucher_address = str(cert["registry"]), str(cert["voucher_contract"])
    if trusted_registry is not None and trusted_registry.lower() != registry.lower():
        problems.append(f"the certificate names registry {registry}, not the one you trust ({trusted_registry})")
    # A registry written to answer "anchored" for everything would pass every other check: the code
    # at the signed addresses must be the published, audited contracts.
    if not code_matches_artifact(w3, registry, "EvidenceRegistry"):
        problems.append(f"the code at {registry} is not the published EvidenceRegistry")
    if not code_matches_artifact(w3, voucher_address, "CompensationVoucher"):
        problems.append(f"the code at {voucher_address} is not the published CompensationVoucher")
    else:
        bound = str(voucher.contract.functions.registry().call())
        if bound.lower() != registry.lower():
            problems.append(f"the voucher contract is bound to registry {bound}, not {registry}")
    if problems:
        return Check("contracts", title, CheckStatus.FAIL,
                     "The contracts named in the certificate are not the published Qualitrail contracts.",
                     tuple(problems))
    return Check("contracts", title, CheckStatus.PASS,
                 f"The registry {registry} and the voucher contract {voucher_address} run the published code.")


_ANCHOR_OF = keccak256(b"anchorOf(bytes32)")[:4]
_VERIFY_LEAF = keccak256(b"verifyLeaf(bytes32,bytes32[],bytes32)")[:4]
# Sub-requests per JSON-RPC batch: nodes cap batch sizes (often at 100 to 1,000).
def _eth_call(to: str, data: bytes) -> tuple[str, list[Any]]:
    return "eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]


def _check_roots(cert: Mapping[str, Any], w3: Web3, registry: EvidenceRegistryClient, head: int,
                 min_confirmations: int) -> Check:
    title = "Recorded on the blockchain"
    problems: list[str] = []
    lines: list[str] = []
    least_confirmations: int | None = None
    batches = list(cert["batches"])
    # Per batch: the registry's record of the root, the stated block, the anchoring receipt.
    requests: list[tuple[str, list[Any]]] = []
    for batch in batches:
        requests.append(_eth_call(registry.address, _ANCHOR_OF + abi_encode(["bytes32"], [from_hex(batch["root"])])))
        requests.append(("eth_getBlockByNumber", [hex(int(batch["block_number"])), False]))
        requests.append(("eth_getTransactionReceipt", [batch["tx_hash"]]))
    # The registry's own verifyLeaf for every milestone: the same Merkle code the voucher contract
    # relies on, asked through the auditor's node rather than trusted from our Python.
    root_of = {b["batch_no"]: b["root"] for b in batches}
    asked = [m for m in cert["milestones"] if m["batch_no"] in root_of]
    for m in asked:
        requests.append(_eth_call(registry.address, _VERIFY_LEAF + abi_encode(
            ["bytes32", "bytes32[]", "bytes32"],
            [from_hex(m["leaf"]), [from_hex(p) for p in m["proof"]], from_hex(root_of[m["batch_no"]])])))
    answers = rpc_batch(w3, requests)
    for i, batch in enumerate(batches):
        label = f"batch {batch['batch_no']}"
        anchor, block, receipt = answers[3 * i: 3 * i + 3]
        block_time, block_number, leaf_count, batch_id = abi_decode(["uint64", "uint64", "uint32", "bytes32"],
                                                                    from_hex(anchor))
        if leaf_count == 0:
            problems.append(f"{label}: its root {batch['root']} is not anchored on this chain")
            continue
        if to_hex(batch_id) != batch["batch_id"] or leaf_count != batch["leaf_count"]:
            problems.append(f"{label}: the chain anchored this root for another batch or leaf count")
        if block_number != batch["block_number"]:
            problems.append(f"{label}: anchored in block {block_number} on this chain, "
                            f"the certificate says block {batch['block_number']}")
            continue
        if block is None or block.get("hash") != batch["block_hash"]:
            problems.append(f"{label}: block {block_number} is no longer the block the certificate "
                            "names (the chain was rewritten)")
            continue
        if receipt is None or receipt.get("blockHash") != batch["block_hash"] or int(receipt["status"], 16) != 1:
            problems.append(f"{label}: anchoring transaction {batch['tx_hash']} is not in that block")
            continue
        confirmations = head - block_number + 1
        least_confirmations = confirmations if least_confirmations is None else min(least_confirmations,
                                                                                    confirmations)
        if confirmations < min_confirmations:
            problems.append(f"{label}: only {confirmations} confirmations, {min_confirmations} required")
            continue
        when = datetime.fromtimestamp(block_time, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"{label}: root {batch['root'][:18]}… anchored in block {block_number} on {when}, "
                     f"{confirmations} confirmation{'s' if confirmations != 1 else ''}")
    for m, answer in zip(asked, answers[3 * len(batches):], strict=True):
        if int(str(answer), 16) != 1:
            problems.append(f"milestone {m['seq']} ({m['kind']}): the registry rejects its proof")
    if problems:
        return Check("root_on_chain", title, CheckStatus.FAIL,
                     "Some of the certificate's evidence is not on this chain as stated.", tuple(problems))
    plural = "s" if least_confirmations != 1 else ""
    return Check("root_on_chain", title, CheckStatus.PASS,
                 f"All {len(batches)} Merkle roots are anchored in the stated blocks (each with at least "
                 f"{least_confirmations} confirmation{plural}), and the registry accepts every proof.",
                 tuple(lines))


def _check_vouchers(cert: Mapping[str, Any], w3: Web3, voucher: VoucherClient) -> Check:
    title = "Compensation vouchers"
    ticket_id = str(cert["ticket_id"])
    root_of_batch = {b["batch_no"]: b["root"] for b in cert["batches"]}
    breach_roots = {m["leaf"]: root_of_batch.get(m["batch_no"]) for m in cert["milestones"]
                    if m["kind"] == MilestoneKind.SLA_BREACH}
    problems: list[str] = []
    lines: list[str] = []
    listed: set[int] = set()
    chain_time = int(w3.eth.get_block("latest")["timestamp"])
    for v in cert["vouchers"]:
        label = f"voucher #{v['voucher_id']} ({v['breach']})"
        listed.add(int(v["voucher_id"]))
        if not str(v["claim_id"]).startswith(ticket_id + ":"):
            problems.append(f"{label}: its claim {v['claim_id']} is not about this ticket")
            continue
        if v["breach_leaf"] not in breach_roots:
            problems.append(f"{label}: it does not rest on an SLA-breach milestone of this certificate")
            continue
        try:
            info = voucher.voucher(int(v["voucher_id"]))
        except LookupError:
            problems.append(f"{label}: no such voucher on this chain")
            continue
        if info.claim_id != claim_hash(str(v["claim_id"])):
            problems.append(f"{label}: the chain issued it for another claim")
        if to_hex(info.breach_leaf) != v["breach_leaf"] or to_hex(info.root) != breach_roots[v["breach_leaf"]]:
            problems.append(f"{label}: the chain backs it with other evidence")
        if info.amount != v["amount"]:
            problems.append(f"{label}: worth {info.amount} on chain, the certificate says {v['amount']}")
        try:
            receipt = w3.eth.get_transaction_receipt(v["tx_hash"])
        except TransactionNotFound:
            receipt = None
        if receipt is None or receipt["status"] != 1:
            problems.append(f"{label}: issuing transaction {v['tx_hash']} is not on this chain")
        if info.redeemed:
            state = "redeemed"
        elif chain_time >= info.expires_at:
            state = "expired unredeemed"
        else:
            state = "valid, not yet redeemed"
        lines.append(f"{label}: worth {info.amount} {v['currency'] or 'minor units'}, {state}")
    # A breach whose voucher exists on chain but is missing here: say so (it may be newer than
    # the certificate), without failing what the certificate does state.
    for leaf, _root in breach_roots.items():
        m = next(m for m in cert["milestones"] if m["leaf"] == leaf)
        clock = m.get("data", {}).get("clock")
        if not clock:
            continue
        on_chain = voucher.voucher_of_claim(claim_hash(f"{ticket_id}:{clock}"))
        if on_chain and on_chain not in listed:
            lines.append(f"voucher #{on_chain} ({clock}) was issued on chain but is not listed in this "
                         "certificate (probably issued after it)")
    if problems:
        return Check("voucher", title, CheckStatus.FAIL,
                     "Some vouchers are not on this chain as the certificate states.", tuple(problems + lines))
    if not cert["vouchers"]:
        summary = ("No SLA was missed, so no voucher was due." if not breach_roots
                   else "No voucher is listed for this ticket.")
        return Check("voucher", title, CheckStatus.PASS, summary, tuple(lines))
    return Check("voucher", title, CheckStatus.PASS,
                 f"{len(cert['vouchers'])} voucher{'s' if len(cert['vouchers']) != 1 else ''} issued on chain against "
                 "the anchored breach evidence.",
                 tuple(lines))


def verify_on_chain(cert: Mapping[str, Any], w3: Web3, *, min_confirmations: int = 1,
                    trusted_registry: str | None = None) -> list[Check]:
    """Check a well-formed certificate against the chain ``w3`` is connected to.

    Checks, in order: the node serves the certificate's chain; the registry and voucher contract
    run the published code; every root is anchored in the stated block, that block is still on the
    chain (its hash matches), the anchoring transaction is in it, it has enough confirmations, and
    the registry accepts every milestone's proof; every voucher exists on chain for this ticket's
    claim, rests on an anchored breach leaf of the certificate, and its status (valid, redeemed,
    expired).

    Args:
        cert: A certificate whose shape passed ``verify_certificate_offline``.
        w3: Connected to the verifier's own node.
        min_confirmations: Blocks (the anchoring block included) required on top of each anchor.
        trusted_registry: The registry address the verifier trusts, if any.

    Returns:
        The on-chain checks.
    """
    network, head = _check_network(cert, w3)
    if head is None:
        return [network]
    registry = EvidenceRegistryClient(w3, str(cert["registry"]))
    voucher = VoucherClient(w3, str(cert["voucher_contract"]))
    checks = [network]
    try:
        contracts = _check_contracts(cert, w3, voucher, trusted_registry)
        checks.append(contracts)
        if contracts.failed:
            # Answers from unknown code mean nothing: do not report roots "found" through it.
            return checks
        checks.append(_check_roots(cert, w3, registry, head, min_confirmations))
        checks.append(_check_vouchers(cert, w3, voucher))
    except Exception as exc:  # noqa: BLE001 - a node failing mid-way fails the check, not the caller
        checks.append(Check("chain_error", "Blockchain answered every question", CheckStatus.FAIL,
                            f"The node failed while checking: {type(exc).__name__}: {exc}"))
    return checks


def verify_certificate(cert: Any, *, w3: Web3 | None, trusted_signer: str | None = None,
                       expected_digest: str | None = None, min_confirmations: int = 1,
                       trusted_registry: str | None = None, stop_at_failure: bool = False) -> list[Check]:
    """Run every check: the offline ones, then (with ``w3``) the on-chain ones.

    Args:
        cert: A parsed certificate (a malformed one fails the first check).
        w3: The verifier's node; ``None`` for an offline verification only.
        trusted_signer: The operator address the verifier trusts.
        expected_digest: The digest from the QR code, if any.
        min_confirmations: Blocks required on top of each anchor.
        trusted_registry: The registry address the verifier trusts, if any.
        stop_at_failure: Stop at the first failed offline check and ask the chain nothing (the
            public upload page: a forged file must not cost a round of chain calls).

    Returns:
        All checks, in display order.
    """
    checks = verify_certificate_offline(cert, trusted_signer=trusted_signer, expected_digest=expected_digest,
                                        stop_at_failure=stop_at_failure)
    if any(c.name == "format" for c in checks):
        return checks
    if stop_at_failure and any(c.status == CheckStatus.FAIL for c in checks):
        return [*checks, Check("root_on_chain", "Recorded on the blockchain", CheckStatus.SKIP,
                               "Not checked: the certificate already failed a check above.")]
    if w3 is None:
        return [*checks, Check("root_on_chain", "Recorded on the blockchain", CheckStatus.SKIP,
                               "Not checked: no blockchain node was given.")]
    return checks + verify_on_chain(cert, w3, min_confirmations=min_confirmations,
                                    trusted_registry=trusted_registry)


def summarise(checks: Sequence[Check]) -> list[dict[str, Any]]:
    """Return the checks as plain data (for JSON output).

    Args:
        checks: The checks.

    Returns:
        One dict per check (name, title, status, summary, details).
    """
    return [c.as_dict() for c in checks]
