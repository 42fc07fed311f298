"""Deploy EvidenceRegistry + CompensationVoucher once per chain, and grant the roles.

Idempotent: a record ``<record_dir>/<chain_id>.json`` remembers the addresses and the code hash of
the artifacts they were deployed from. A later call reuses them if the code hash is unchanged and
the chain really has that code at both addresses; otherwise (new artifacts, a fresh or reset
chain, an Anvil restored from an older state) it deploys again and rewrites the record. Roles are
checked on every call and granted where missing.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.sender import TransactionSender
from contracts.compile import load_artifact
from domain.encoding import from_hex
from domain.policy import load_policy

__all__ = [
    "DEPLOYED_CONTRACTS",
    "LEGACY_ARTIFACTS",
    "Deployment",
    "artifacts_code_hash",
    "code_is_artifact",
    "code_matches_artifact",
    "deploy_contracts",
    "read_deployment",
]

DEPLOYED_CONTRACTS = ("EvidenceRegistry", "CompensationVoucher")
# Contracts deployed before batch format 2 (docs/decisions/009): their code still counts as genuine
# when a certificate issued on them is verified, never for a new deployment.
LEGACY_ARTIFACTS = {name: f"legacy/v1/{name}" for name in DEPLOYED_CONTRACTS}
DEFAULT_POLICY_FILE = Path(__file__).resolve().parent.parent / "config" / "policy.toml"


class Deployment(NamedTuple):
    """Where the contracts live on one chain.

    Attributes:
        chain_id: The chain id.
        registry: EvidenceRegistry checksum address.
        voucher: CompensationVoucher checksum address.
        code_hash: sha256 (hex) of the artifacts' creation bytecode they were deployed from.
        block_number: Block of the registry's deployment: where event scans start.
    """

    chain_id: int
    registry: str
    voucher: str
    code_hash: str
    block_number: int


def artifacts_code_hash() -> str:
    """Return the sha256 of the committed creation bytecode of the deployed contracts.

    Returns:
        Hex digest; changes whenever a recompile changes what would be deployed.
    """
    digest = hashlib.sha256()
    for name in DEPLOYED_CONTRACTS:
        digest.update(f"{name}\n{load_artifact(name)['bytecode']}\n".encode())
    return digest.hexdigest()


def code_is_artifact(code: bytes, name: str) -> bool:
    """Whether runtime ``code`` is the artifact's ``deployedBytecode`` (immutables zeroed, see below)."""
    artifact = _deployed(name)
    expected, immutables = artifact
    actual = bytearray(code)
    if len(actual) != len(expected):
        return False
    for start, length in immutables:
        actual[start : start + length] = b"\x00" * length
    return bytes(actual) == expected


@cache
def _deployed(name: str) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    artifact = load_artifact(name)
    refs = tuple((int(ref["start"]), int(ref["length"]))
                 for references in artifact.get("immutableReferences", {}).values() for ref in references)
    return from_hex(artifact["deployedBytecode"]), refs


def code_matches_artifact(w3: Web3, address: str, name: str) -> bool:
    """Tell whether the runtime code at ``address`` is the artifact's ``deployedBytecode``.

    Immutable values (set by the constructor, e.g. the voucher's registry address) are zeros in
    the artifact, so those byte ranges are zeroed in the on-chain code before comparing.

    Args:
        w3: Connected Web3 instance.
        address: Contract address.
        name: Artifact name.

    Returns:
        ``True`` if the code matches; ``False`` if it differs or there is no code.
    """
    return code_is_artifact(bytes(w3.eth.get_code(Web3.to_checksum_address(address))), name)


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return record
    except (OSError, ValueError):
        return None


def _write_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a crash never leaves a half-written record behind.
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _reusable(w3: Web3, record: dict[str, Any] | None, chain_id: int, code_hash: str) -> bool:
    # The one rule for trusting a record: same chain, same artifacts, and that code really on chain.
    if record is None or record.get("chain_id") != chain_id or record.get("code_hash") != code_hash:
        return False
    return code_matches_artifact(w3, record["registry"], "EvidenceRegistry") and code_matches_artifact(
        w3, record["voucher"], "CompensationVoucher"
    )


def _deployment_of(record: dict[str, Any]) -> Deployment:
    return Deployment(int(record["chain_id"]), record["registry"], record["voucher"], record["code_hash"],
                      int(record["block_number"]))


def read_deployment(w3: Web3, chain_id: int, record_dir: Path) -> Deployment:
    """Return the recorded deployment of ``chain_id``, checked against the chain; never deploys.

    Production keeps the admin key offline: without a deployer key the worker and the API only use
    a deployment made elsewhere, and only if the chain really holds that code.

    Raises:
        RuntimeError: If there is no record, or the chain does not hold the recorded code.
    """
    path = record_dir / f"{chain_id}.json"
    record = _read_record(path)
    if record is None:
        raise RuntimeError(f"no deployment record {path} and no deployer key to deploy")
    if not _reusable(w3, record, chain_id, artifacts_code_hash()):
        raise RuntimeError(f"the contracts recorded in {path} are not on chain {chain_id} as built")
    return _deployment_of(record)


def _deploy(sender: TransactionSender, name: str, *args: Any) -> tuple[str, int]:
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = sender.send(factory.constructor(*args), abi=artifact["abi"])
    address = receipt["contractAddress"]
    if address is None:
        raise RuntimeError(f"deploying {name} gave no contract address")
    return Web3.to_checksum_address(address), int(receipt["blockNumber"])


def _ensure_max_amount(sender: TransactionSender, address: str, max_amount: int) -> None:
    abi = load_artifact("CompensationVoucher")["abi"]
    contract = sender.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
    if int(contract.functions.maxAmount().call()) != max_amount:
        sender.send(contract.functions.setMaxAmount(max_amount), abi=abi)


def _default_max_amount() -> int:
    return load_policy(DEFAULT_POLICY_FILE).compensation.voucher_cap


def _ensure_role(sender: TransactionSender, name: str, address: str, role_name: str, account: str) -> None:
    abi = load_artifact(name)["abi"]
    contract = sender.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
    role = getattr(contract.functions, role_name)().call()
    holder = Web3.to_checksum_address(account)
    if not contract.functions.hasRole(role, holder).call():
        sender.send(contract.functions.grantRole(role, holder), abi=abi)


def deploy_contracts(
    w3: Web3,
    deployer: LocalAccount,
    *,
    anchorer: str,
    issuer: str,
    redeemer: str,
    record_dir: Path,
    confirmations: int = 0,
    max_voucher_amount: int | None = None,
) -> Deployment:
    """Deploy the contracts (or reuse an earlier deployment) and grant the roles.

    The deployer becomes ``DEFAULT_ADMIN_ROLE`` of both contracts.

    Args:
        w3: Connected Web3 instance.
        deployer: Account that deploys and administers the contracts.
        anchorer: Address to hold the registry's ``ANCHOR_ROLE``.
        issuer: Address to hold the voucher's ``ISSUER_ROLE``.
        redeemer: Address to hold the voucher's ``REDEEMER_ROLE``.
        record_dir: Folder of the per-chain deployment records.
        confirmations: Blocks to wait after each transaction (0 on an automining Anvil).
        max_voucher_amount: The voucher cap to set (``compensation.max_voucher_amount`` of the policy);
            ``None``: that of ``config/policy.toml``.

    Returns:
        The deployment.

    Raises:
        ValueError: If ``deployer`` is a well-known Anvil key and the chain is not 31337.
    """
    sender = TransactionSender(w3, deployer, confirmations=confirmations)
    chain_id = sender.chain_id()  # refuses a dev key on a real chain before anything is sent
    code_hash = artifacts_code_hash()
    cap = _default_max_amount() if max_voucher_amount is None else max_voucher_amount
    record_path = record_dir / f"{chain_id}.json"
    record = _read_record(record_path)
    if record is not None and _reusable(w3, record, chain_id, code_hash):
        deployment = _deployment_of(record)
    else:
        registry, block_number = _deploy(sender, "EvidenceRegistry", deployer.address)
        voucher, _ = _deploy(sender, "CompensationVoucher", registry, deployer.address, cap)
        deployment = Deployment(chain_id, registry, voucher, code_hash, block_number)
        _write_record(
            record_path,
            {**deployment._asdict(), "deployer": deployer.address},
        )
    _ensure_role(sender, "EvidenceRegistry", deployment.registry, "ANCHOR_ROLE", anchorer)
    _ensure_role(sender, "CompensationVoucher", deployment.voucher, "ISSUER_ROLE", issuer)
    _ensure_role(sender, "CompensationVoucher", deployment.voucher, "REDEEMER_ROLE", redeemer)
    _ensure_max_amount(sender, deployment.voucher, cap)
    return deployment
