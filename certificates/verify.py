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

from web3 import Web3

from chain import abi
from chain.deployment import LEGACY_ARTIFACTS, code_is_artifact
from chain.rpc import RpcError, rpc_batch
from chain.voucher import VoucherInfo
from domain.certificate_checks import Check, CheckStatus, verify_certificate_offline
from domain.encoding import from_hex, to_hex
from domain.evidence_types import claim_hash
from domain.milestones import BATCH_FORMAT_V1, MilestoneKind, tree_leaf
from domain.money import format_money

__all__ = ["summarise", "verify_certificate", "verify_on_chain"]


_REGISTRY, _VOUCHER = "EvidenceRegistry", "CompensationVoucher"


class _Answers:
    """Every question a certificate asks of the chain, sent in one JSON-RPC batch.

    The answers are only read after the checks they depend on passed: what code at an unknown
    address answers means nothing, so the roots and vouchers are judged only once the contracts are.
    """

    def __init__(self, cert: Mapping[str, Any], w3: Web3) -> None:
        registry, voucher = str(cert["registry"]), str(cert["voucher_contract"])
        ticket_id = str(cert["ticket_id"])
        self.batches = list(cert["batches"])
        root_of = {b["batch_no"]: b["root"] for b in self.batches}
        format_of = {b["batch_no"]: int(b.get("format", BATCH_FORMAT_V1)) for b in self.batches}
        self.asked = [m for m in cert["milestones"] if m["batch_no"] in root_of]
        self.vouchers = list(cert["vouchers"])
        self.clocks = [(m["leaf"], m.get("data", {}).get("clock")) for m in cert["milestones"]
                       if m["kind"] == MilestoneKind.SLA_BREACH and m.get("data", {}).get("clock")]
        requests: list[tuple[str, list[Any]]] = [
            ("eth_chainId", []), ("eth_blockNumber", []), ("eth_getBlockByNumber", ["latest", False]),
            ("eth_getCode", [registry, "latest"]), ("eth_getCode", [voucher, "latest"]),
            abi.call(_VOUCHER, voucher, "registry"),
        ]
        for batch in self.batches:
            requests += [abi.call(_REGISTRY, registry, "anchorOf", from_hex(batch["root"])),
                         ("eth_getBlockByNumber", [hex(int(batch["block_number"])), False]),
                         ("eth_getTransactionReceipt", [batch["tx_hash"]])]
        # The registry's own verifyLeaf for every milestone: the same Merkle code the voucher contract
        # relies on, asked through the auditor's node rather than trusted from our Python.
        requests += [abi.call(_REGISTRY, registry, "verifyLeaf",
                              tree_leaf(from_hex(m["leaf"]), str(m["kind"]), format_of[m["batch_no"]]),
                              [from_hex(p) for p in m["proof"]], from_hex(root_of[m["batch_no"]]))
                     for m in self.asked]
        # voucherOfBreach exists only in the current release; its answer is read only there.
        for v in self.vouchers:
            requests += [abi.call(_VOUCHER, voucher, "voucherOf", int(v["voucher_id"])),
                         ("eth_getTransactionReceipt", [v["tx_hash"]]),
                         abi.call(_VOUCHER, voucher, "voucherOfBreach", from_hex(v["breach_leaf"]))]
        requests += [abi.call(_VOUCHER, voucher, "voucherOfClaim", claim_hash(f"{ticket_id}:{clock}"))
                     for _, clock in self.clocks]
        answers = iter(rpc_batch(w3, requests, errors=True))
        self.chain_id, self.head, self.latest, self.registry_code, self.voucher_code, self.bound = (
            next(answers) for _ in range(6))
        self.roots = [(next(answers), next(answers), next(answers)) for _ in self.batches]
        self.leaf_answers = [next(answers) for _ in self.asked]
        self.voucher_answers = [(next(answers), next(answers), next(answers)) for _ in self.vouchers]
        self.claim_answers = [next(answers) for _ in self.clocks]

    @staticmethod
    def value(answer: Any) -> Any:
        """The answer, or the node's error raised (for a question that must not fail)."""
        if isinstance(answer, RpcError):
            raise RuntimeError(f"{answer.method} failed on the node: {answer.message}")
        return answer


def _check_network(cert: Mapping[str, Any], answers: _Answers) -> tuple[Check, int | None]:
    title = "Connected to the right blockchain"
    chain_id, head = int(answers.value(answers.chain_id), 16), int(answers.value(answers.head), 16)
    if chain_id != int(cert["chain_id"]):
        return Check("network", title, CheckStatus.FAIL,
                     f"The node serves chain {chain_id}, but the certificate is for chain {cert['chain_id']}."
                     ), None
    return Check("network", title, CheckStatus.PASS,
                 f"The node serves chain {chain_id}, the certificate's chain; its newest block is {head}."), head


def _published_version(code: Any, name: str) -> str | None:
    """Which published build ``code`` is: "current", "v1" (before batch format 2), or None."""
    if code_is_artifact(code, name):
        return "current"
    if code_is_artifact(code, LEGACY_ARTIFACTS[name]):
        return "v1"
    return None


def _check_contracts(cert: Mapping[str, Any], answers: _Answers,
                     trusted_registry: str | None) -> tuple[Check, str | None]:
    title = "Genuine Qualitrail contracts"
    problems: list[str] = []
    registry, voucher_address = str(cert["registry"]), str(cert["voucher_contract"])
    if trusted_registry is not None and trusted_registry.lower() != registry.lower():
        problems.append(f"the certificate names registry {registry}, not the one you trust ({trusted_registry})")
    # A registry written to answer "anchored" for everything would pass every other check: the code
    # at the signed addresses must be the published, audited contracts. Certificates issued on the
    # contracts deployed before batch format 2 keep verifying against that earlier published code.
    registry_version = _published_version(from_hex(answers.value(answers.registry_code)), _REGISTRY)
    voucher_version = _published_version(from_hex(answers.value(answers.voucher_code)), _VOUCHER)
    if registry_version is None:
        problems.append(f"the code at {registry} is not the published EvidenceRegistry")
    if voucher_version is None:
        problems.append(f"the code at {voucher_address} is not the published CompensationVoucher")
    elif registry_version is not None and registry_version != voucher_version:
        problems.append(f"the registry ({registry_version}) and the voucher contract ({voucher_version}) "
                        "are from different releases")
    else:
        (bound,) = abi.decode_result(_VOUCHER, "registry", answers.value(answers.bound))
        if str(bound).lower() != registry.lower():
            problems.append(f"the voucher contract is bound to registry {Web3.to_checksum_address(bound)}, "
                            f"not {registry}")
    if problems:
        return Check("contracts", title, CheckStatus.FAIL,
                     "The contracts named in the certificate are not the published Qualitrail contracts.",
                     tuple(problems)), None
    return Check("contracts", title, CheckStatus.PASS,
                 f"The registry {registry} and the voucher contract {voucher_address} run the published code"
                 + (" (the release before batch format 2)." if voucher_version == "v1" else ".")), voucher_version


def _check_roots(answers: _Answers, head: int, min_confirmations: int) -> Check:
    title = "Recorded on the blockchain"
    problems: list[str] = []
    lines: list[str] = []
    least_confirmations: int | None = None
    for batch, (anchor, block, receipt) in zip(answers.batches, answers.roots, strict=True):
        label = f"batch {batch['batch_no']}"
        block_time, block_number, leaf_count, batch_id = abi.decode_result(_REGISTRY, "anchorOf",
                                                                           answers.value(anchor))
        block, receipt = answers.value(block), answers.value(receipt)
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
    for m, answer in zip(answers.asked, answers.leaf_answers, strict=True):
        if not abi.decode_result(_REGISTRY, "verifyLeaf", answers.value(answer))[0]:
            problems.append(f"milestone {m['seq']} ({m['kind']}): the registry rejects its proof")
    if problems:
        return Check("root_on_chain", title, CheckStatus.FAIL,
                     "Some of the certificate's evidence is not on this chain as stated.", tuple(problems))
    plural = "s" if least_confirmations != 1 else ""
    return Check("root_on_chain", title, CheckStatus.PASS,
                 f"All {len(answers.batches)} Merkle roots are anchored in the stated blocks (each with at least "
                 f"{least_confirmations} confirmation{plural}), and the registry accepts every proof.",
                 tuple(lines))


def _voucher_info(voucher_id: int, answer: Any) -> VoucherInfo | None:
    if isinstance(answer, RpcError) and abi.revert_name(_VOUCHER, answer.data) == "CompensationVoucherUnknownVoucher":
        return None
    return VoucherInfo.from_fields(voucher_id, abi.decode_result(_VOUCHER, "voucherOf", _Answers.value(answer)))


def _check_vouchers(cert: Mapping[str, Any], answers: _Answers, version: str | None) -> Check:
    title = "Compensation vouchers"
    ticket_id = str(cert["ticket_id"])
    root_of_batch = {b["batch_no"]: b["root"] for b in cert["batches"]}
    breach_roots = {m["leaf"]: root_of_batch.get(m["batch_no"]) for m in cert["milestones"]
                    if m["kind"] == MilestoneKind.SLA_BREACH}
    problems: list[str] = []
    lines: list[str] = []
    listed: set[int] = set()
    chain_time = int(answers.value(answers.latest)["timestamp"], 16)
    for v, (info_answer, receipt, of_breach) in zip(answers.vouchers, answers.voucher_answers, strict=True):
        label = f"voucher #{v['voucher_id']} ({v['breach']})"
        listed.add(int(v["voucher_id"]))
        if not str(v["claim_id"]).startswith(ticket_id + ":"):
            problems.append(f"{label}: its claim {v['claim_id']} is not about this ticket")
            continue
        if v["breach_leaf"] not in breach_roots:
            problems.append(f"{label}: it does not rest on an SLA-breach milestone of this certificate")
            continue
        info = _voucher_info(int(v["voucher_id"]), info_answer)
        if info is None:
            problems.append(f"{label}: no such voucher on this chain")
            continue
        if info.claim_id != claim_hash(str(v["claim_id"])):
            problems.append(f"{label}: the chain issued it for another claim")
        if to_hex(info.breach_leaf) != v["breach_leaf"] or to_hex(info.root) != breach_roots[v["breach_leaf"]]:
            problems.append(f"{label}: the chain backs it with other evidence")
        if info.amount != v["amount"]:
            problems.append(f"{label}: worth {format_money(info.amount, v['currency'])} on chain, "
                            f"the certificate says {format_money(v['amount'], v['currency'])}")
        if version == "current" and abi.decode_result(_VOUCHER, "voucherOfBreach",
                                                      answers.value(of_breach))[0] != int(v["voucher_id"]):
            problems.append(f"{label}: the chain does not bind it to its breach leaf")
        receipt = None if isinstance(receipt, RpcError) else receipt
        if receipt is None or int(receipt["status"], 16) != 1:
            problems.append(f"{label}: issuing transaction {v['tx_hash']} is not on this chain")
        if info.redeemed:
            state = "redeemed"
        elif chain_time >= info.expires_at:
            state = "expired unredeemed"
        else:
            state = "valid, not yet redeemed"
        lines.append(f"{label}: worth {format_money(info.amount, v['currency'])}, {state}")
    # A breach whose voucher exists on chain but is missing here: say so (it may be newer than
    # the certificate), without failing what the certificate does state.
    for (_leaf, clock), answer in zip(answers.clocks, answers.claim_answers, strict=True):
        (on_chain,) = abi.decode_result(_VOUCHER, "voucherOfClaim", answers.value(answer))
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
    expired). All questions go to the node in one batch (a few for very long certificates).

    Args:
        cert: A certificate whose shape passed ``verify_certificate_offline``.
        w3: Connected to the verifier's own node.
        min_confirmations: Blocks (the anchoring block included) required on top of each anchor.
        trusted_registry: The registry address the verifier trusts, if any.

    Returns:
        The on-chain checks.
    """
    try:
        answers = _Answers(cert, w3)
        network, head = _check_network(cert, answers)
    except Exception as exc:  # noqa: BLE001 - any transport error means "could not check"
        return [Check("network", "Connected to the right blockchain", CheckStatus.FAIL,
                      f"The blockchain node could not be reached, so nothing could be checked on chain: "
                      f"{type(exc).__name__}.")]
    if head is None:
        return [network]
    checks = [network]
    try:
        contracts, version = _check_contracts(cert, answers, trusted_registry)
        checks.append(contracts)
        if contracts.failed:
            # Answers from unknown code mean nothing: do not report roots "found" through it.
            return checks
        checks.append(_check_roots(answers, head, min_confirmations))
        checks.append(_check_vouchers(cert, answers, version))
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
