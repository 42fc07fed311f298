"""`qualitrail audit checkpoint save|check`: pin anchored roots and block hashes you have seen,
signed with your own key, so a later rewrite of the chain is caught."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import typer

from cli.output import EXIT_FAILED, console, die, now, print_checks
from cli.replay import registry_events
from domain.certificate import canonical_json
from domain.certificate_checks import Check, CheckStatus
from domain.encoding import to_hex

checkpoint_app = typer.Typer(help="Signed checkpoints of anchored roots and block hashes.", no_args_is_help=True)

CHECKPOINT_FORMAT = "qualitrail.checkpoint.v1"

DEFAULT_KEY_FILE = Path(os.environ.get("QT_AUDITOR_KEY_FILE", str(Path.home() / ".config" / "qualitrail"
                                                                   / "auditor.key")))


def _auditor_account(key_file: Path, create: bool) -> Any:
    from eth_account import Account

    if not key_file.exists():
        if not create:
            return None
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # The auditor's own key: it only signs checkpoints, so a fresh random key is right.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("0x" + secrets.token_hex(32) + "\n")
        console.print(f"created a new auditor key in {key_file}")
    return Account.from_key(key_file.read_text().strip())


def _checkpoint_message(body: dict[str, Any]) -> Any:
    from eth_account.messages import encode_defunct

    from domain.hashing import keccak256

    return encode_defunct(primitive=keccak256(b"qualitrail.checkpoint.v1\x00" + canonical_json(body)))


@checkpoint_app.command("save")
def checkpoint_save(
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of YOUR node"),
    out: Path = typer.Option(..., "--out", help="checkpoint file to write"),
    registry: str | None = typer.Option(None, "--registry", help="also pin every root this registry anchored"),
    from_block: int = typer.Option(0, "--from-block", help="first block to scan for anchors"),
    chunk: int = typer.Option(10_000, "--chunk", min=1, help="blocks per eth_getLogs request"),
    key_file: Path = typer.Option(DEFAULT_KEY_FILE, "--key-file", help="your signing key (created if missing)"),
) -> None:
    """Save a signed checkpoint: the chain head and each anchored root with its block number and hash."""
    from chain.registry import EvidenceRegistryClient
    from chain.rpc import connect

    w3 = connect(rpc)
    try:
        head = w3.eth.get_block("latest")
        anchors: list[dict[str, Any]] = []
        if registry is not None:
            events = registry_events(EvidenceRegistryClient(w3, registry), w3, from_block, chunk)
            anchors = [{"root": to_hex(e.root), "batch_id": to_hex(e.batch_id),
                        "block_number": e.block_number, "block_hash": e.block_hash, "tx_hash": e.tx_hash}
                       for e in events if e.block_number <= int(head["number"])]
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001
        raise die(f"could not read the chain at {rpc}: {exc}", EXIT_FAILED) from exc
    account = _auditor_account(key_file, create=True)
    head_number = int(head["number"])
    body: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT, "chain_id": chain_id, "registry": registry, "taken_at": now(),
        "head": {"block_number": head_number, "block_hash": to_hex(head["hash"])},
        "anchors": anchors}
    signed = account.sign_message(_checkpoint_message(body))
    document = {**body, "signer": str(account.address), "signature": to_hex(signed.signature)}
    out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    console.print(f"checkpoint of chain {chain_id} at block {head_number} with "
                  f"{len(anchors)} anchored roots written to {out}, signed by {account.address}")


@checkpoint_app.command("check")
def checkpoint_check(
    checkpoint: Path = typer.Argument(..., help="checkpoint file from `checkpoint save`"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of YOUR node"),
    signer: str | None = typer.Option(None, "--signer", help="address that must have signed it"),
    key_file: Path = typer.Option(DEFAULT_KEY_FILE, "--key-file",
                                  help="your key; its address must have signed (unless --signer)"),
) -> None:
    """Check that the chain still contains every root and block of a checkpoint (a rewrite fails)."""
    from eth_account import Account
    from web3.exceptions import BlockNotFound

    from chain.registry import EvidenceRegistryClient
    from chain.rpc import connect

    try:
        document = json.loads(checkpoint.read_text(encoding="utf-8"))
        body = {k: v for k, v in document.items() if k not in ("signer", "signature")}
        if body.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a {CHECKPOINT_FORMAT} file")
        recovered = str(Account.recover_message(_checkpoint_message(body), signature=document["signature"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise die(f"cannot read checkpoint {checkpoint}: {exc}", EXIT_FAILED) from exc
    checks: list[Check] = []
    expected = signer
    if expected is None:
        account = _auditor_account(key_file, create=False)
        expected = str(account.address) if account is not None else None
    if expected is not None and recovered.lower() != expected.lower():
        checks.append(Check("checkpoint_signature", "Checkpoint signed by you", CheckStatus.FAIL,
                            f"Signed by {recovered}, not by {expected}: the file was changed or is not yours."))
    elif expected is None:
        checks.append(Check("checkpoint_signature", "Checkpoint signed by you", CheckStatus.WARN,
                            f"Validly signed by {recovered}; no key or --signer given to compare with."))
    else:
        checks.append(Check("checkpoint_signature", "Checkpoint signed by you", CheckStatus.PASS,
                            f"Signed by {recovered}; unchanged since it was saved."))
    w3 = connect(rpc)
    problems: list[str] = []
    try:
        chain_id = int(w3.eth.chain_id)
        if chain_id != body["chain_id"]:
            problems.append(f"the node serves chain {chain_id}, the checkpoint is of chain {body['chain_id']}")
        pinned = [("chain head", body["head"]["block_number"], body["head"]["block_hash"])]
        pinned += [(f"root {a['root'][:18]}…", a["block_number"], a["block_hash"]) for a in body["anchors"]]
        for label, number, block_hash in pinned:
            try:
                block = w3.eth.get_block(int(number))
            except BlockNotFound:
                problems.append(f"{label}: block {number} no longer exists (the chain is shorter: rewritten)")
                continue
            if to_hex(block["hash"]) != block_hash:
                problems.append(f"{label}: block {number} has another hash now (the chain was rewritten)")
        if body["anchors"] and body.get("registry"):
            client = EvidenceRegistryClient(w3, body["registry"])
            for a in body["anchors"]:
                info = client.anchor_info(bytes.fromhex(a["root"][2:]))
                if info is None:
                    problems.append(f"root {a['root'][:18]}…: no longer anchored in the registry")
                elif info.block_number != a["block_number"]:
                    problems.append(f"root {a['root'][:18]}…: now anchored in block {info.block_number}, "
                                    f"was {a['block_number']}")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"the node failed: {type(exc).__name__}: {exc}")
    title = "Chain still contains the checkpoint"
    if problems:
        checks.append(Check("checkpoint_chain", title, CheckStatus.FAIL,
                            "The chain no longer contains what this checkpoint recorded.", tuple(problems)))
    else:
        checks.append(Check("checkpoint_chain", title, CheckStatus.PASS,
                            f"Block {body['head']['block_number']} and all {len(body['anchors'])} anchored roots "
                            "are still on the chain with the same block hashes."))
    if not print_checks(checks):
        raise typer.Exit(EXIT_FAILED)


