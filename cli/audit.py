"""`qualitrail audit ...`: verify certificates and the whole anchored record against your own node.

Nothing here trusts the operator's servers for a verdict. ``verify`` reads a certificate file (or
fetches the certificate a QR photo points to, and checks it is the one the QR names) and checks it
against the RPC endpoint *you* pass. ``export`` (run by the operator) writes every anchored leaf;
``replay`` rebuilds every batch from such an export and compares it with the registry's events
on your node. ``checkpoint save``/``check`` pin roots and block hashes you have seen, signed with
your own key, so a later rewrite of the chain is caught.

Exit status: 0 when everything checks, 1 when any check fails (the output names what failed),
2 when the input cannot be read at all.

Run as ``python -m cli.audit`` or, once mounted on the root CLI, ``qualitrail audit``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from domain.certificate import (
    CertificateFormatError,
    Check,
    CheckStatus,
    canonical_json,
    overall_verdict,
    parse_certificate,
)

audit_app = typer.Typer(
    help="Auditor tools: verify certificates, replay the anchored record, pin checkpoints — against "
    "your own EVM node, trusting nothing but the chain.",
    no_args_is_help=True,
)
checkpoint_app = typer.Typer(help="Signed checkpoints of anchored roots and block hashes.", no_args_is_help=True)
audit_app.add_typer(checkpoint_app, name="checkpoint")

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXPORT_FORMAT = "qualitrail.export.v1"
CHECKPOINT_FORMAT = "qualitrail.checkpoint.v1"
EXIT_FAILED = 1
EXIT_UNREADABLE = 2
_MARKS = {CheckStatus.PASS: "[green]PASS[/]", CheckStatus.FAIL: "[bold red]FAIL[/]",
          CheckStatus.WARN: "[yellow]NOTE[/]", CheckStatus.SKIP: "[dim]SKIP[/]"}


def _die(message: str, code: int = EXIT_UNREADABLE) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _print_checks(checks: list[Check]) -> bool:
    for check in checks:
        console.print(f"{_MARKS[check.status]}  [bold]{check.title}[/]: {check.summary}")
        limit = 50
        for line in check.details[:limit]:
            console.print(f"        - {line}")
        if len(check.details) > limit:
            console.print(f"        ... and {len(check.details) - limit} more")
    verdict = overall_verdict(checks)
    style = "bold green" if verdict.ok else "bold red"
    console.print(f"\n[{style}]{verdict.headline}[/]")
    return verdict.ok


# ---------------------------------------------------------------------------------- verify


def _read_qr(path: Path) -> str:
    import zxingcpp
    from PIL import Image

    with Image.open(path) as image:
        results = zxingcpp.read_barcodes(image.convert("RGB"))
    texts = [r.text for r in results if r.text]
    if not texts:
        raise _die(f"no QR code found in {path}")
    return str(texts[0])


def _fetch_from_qr(url: str, timeout: float) -> tuple[Any, str, str]:
    """Fetch the certificate a QR URL names. Returns (certificate, digest from the QR, ticket id)."""
    import httpx

    parts = urlsplit(url)
    digest = (parse_qs(parts.query).get("d") or [""])[0]
    if parts.scheme not in ("http", "https") or "/verify/" not in parts.path or not digest:
        raise _die(f"the QR code does not hold a Qualitrail verification URL: {url}")
    ticket_id = unquote(parts.path.rsplit("/verify/", 1)[1])
    try:
        # Only to obtain the document: every check below runs locally and against your node.
        response = httpx.get(url, headers={"Accept": "application/json"}, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise _die(f"could not fetch the certificate from {url}: {exc}") from exc
    if response.status_code == 409:
        current = response.json().get("current_digest", "?")
        console.print(f"{_MARKS[CheckStatus.FAIL]}  [bold]Matches the QR code[/]: the server has no certificate "
                      f"with the QR code's digest {digest}; it serves {current} for ticket {ticket_id} "
                      "(the record was changed since the QR code was made)")
        console.print("\n[bold red]NOT VERIFIED: Matches the QR code.[/]")
        raise typer.Exit(EXIT_FAILED)
    if response.status_code != 200:
        raise _die(f"{url} answered {response.status_code}: {response.text[:300]}")
    return response.json(), digest, ticket_id


@audit_app.command()
def verify(
    source: Path = typer.Argument(..., help="certificate.json, or a PNG/JPEG photo of its QR code"),
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of YOUR node (or a fork of the chain)"),
    signer: str | None = typer.Option(None, "--signer", help="operator signing address you trust"),
    registry: str | None = typer.Option(None, "--registry", help="registry address you trust"),
    min_confirmations: int = typer.Option(1, "--min-confirmations", min=1,
                                          help="blocks required on top of each anchor (anchor block included)"),
    offline: bool = typer.Option(False, "--offline", help="skip the chain checks"),
    save: Path | None = typer.Option(None, "--save", help="write the certificate fetched from a QR code here"),
    as_json: bool = typer.Option(False, "--json", help="print the checks as JSON"),
    timeout: float = typer.Option(20.0, "--timeout", help="seconds per network request"),
) -> None:
    """Verify a certificate: digest, signature, hash chain, Merkle proofs, roots and vouchers on chain."""
    from activities.verification import connect, verify_certificate

    if not source.exists():
        raise _die(f"{source} does not exist")
    if rpc is None and not offline:
        raise _die("give --rpc URL (your own node, so the chain checks trust nobody) or --offline")
    raw = source.read_bytes()
    expected_digest: str | None = None
    if raw[:8] == b"\x89PNG\r\n\x1a\n" or raw[:3] == b"\xff\xd8\xff" or source.suffix.lower() in (".png", ".jpg",
                                                                                                 ".jpeg"):
        url = _read_qr(source)
        if not as_json:
            console.print(f"QR code: {url}")
        cert, expected_digest, ticket_id = _fetch_from_qr(url, timeout)
        if isinstance(cert, dict) and cert.get("ticket_id") != ticket_id:
            console.print(f"{_MARKS[CheckStatus.FAIL]}  [bold]Matches the QR code[/]: the QR code names ticket "
                          f"{ticket_id}, the certificate is about {cert.get('ticket_id')}")
            raise typer.Exit(EXIT_FAILED)
        if save is not None:
            save.write_text(json.dumps(cert, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    else:
        try:
            cert = parse_certificate(raw)
        except CertificateFormatError as exc:
            # A damaged file is a failed verification, not a usage error: say what is wrong.
            console.print(f"{_MARKS[CheckStatus.FAIL]}  [bold]Readable certificate[/]: {exc}")
            console.print("\n[bold red]NOT VERIFIED: Readable certificate.[/]")
            raise typer.Exit(EXIT_FAILED) from exc
    w3 = None if offline or rpc is None else connect(rpc, timeout=timeout)
    checks = verify_certificate(cert, w3=w3, trusted_signer=signer, expected_digest=expected_digest,
                                min_confirmations=min_confirmations, trusted_registry=registry)
    if as_json:
        print(json.dumps({"ok": overall_verdict(checks).ok, "checks": [c.as_dict() for c in checks]}, indent=2))
        ok = overall_verdict(checks).ok
    else:
        if isinstance(cert, dict):
            console.print(f"Certificate for ticket [bold]{cert.get('ticket_id')}[/], digest "
                          f"{cert.get('digest')}, checked against {'no node' if offline else rpc}")
        ok = _print_checks(checks)
    if not ok:
        raise typer.Exit(EXIT_FAILED)


# ---------------------------------------------------------------------------------- export


@audit_app.command()
def export(
    out: Path = typer.Option(..., "--out", help="file to write (JSON Lines)"),
    database_url: str | None = typer.Option(None, "--database-url", help="read model (default: settings)"),
) -> None:
    """Write every anchored leaf of the read model (for `replay`), in batch and tree order."""
    from sqlmodel import Session, col, select

    from readmodel.db import get_engine
    from readmodel.evidence import ANCHORED
    from readmodel.models import AnchorBatch, Milestone
    from settings import get_settings

    url = database_url or get_settings().db_url
    count = 0
    with Session(get_engine(url)) as session, out.open("w", encoding="utf-8") as handle:
        anchored = set(session.exec(select(AnchorBatch.batch_no).where(AnchorBatch.status == ANCHORED)).all())
        handle.write(json.dumps({"format": EXPORT_FORMAT, "exported_at": _now()}) + "\n")
        rows = session.exec(select(Milestone).where(col(Milestone.batch_no).is_not(None))
                            .order_by(col(Milestone.batch_no), col(Milestone.id)))
        index: dict[int, int] = defaultdict(int)
        for m in rows:
            assert m.batch_no is not None
            if m.batch_no not in anchored:
                continue
            # Tree order is ascending row id within a batch (readmodel.evidence): record the position
            # so the export stays replayable whatever order a reader keeps the lines in.
            record = {"subject": m.subject, "seq": m.seq, "kind": m.kind, "at": m.at, "prev": m.prev,
                      "data": json.loads(m.data), "leaf": m.leaf, "batch_no": m.batch_no,
                      "index": index[m.batch_no]}
            index[m.batch_no] += 1
            handle.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    console.print(f"wrote {count} anchored leaves in {len(index)} batches to {out}")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------- replay


@dataclass
class ReplayReport:
    """What a replay found."""

    batches_checked: int = 0
    leaves_checked: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the export and the chain agree completely."""
        return not (self.missing or self.extra or self.altered)


def _read_export(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise _die(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise _die(f"{path}:{number}: not JSON") from exc
        if number == 1 and isinstance(record, dict) and "format" in record:
            if record["format"] != EXPORT_FORMAT:
                raise _die(f"{path}: unknown export format {record['format']!r}")
            continue
        records.append(record)
    return records


def replay_export(records: list[dict[str, Any]], events: list[Any], progress: Progress | None = None
                  ) -> ReplayReport:
    """Compare an export of leaves with the registry's ``RootAnchored`` events.

    For each anchored batch the tree is rebuilt from the export's leaves (in tree order) and its root
    compared with the root on chain. Each exported milestone's leaf is recomputed from its content,
    and each subject's hash chain is re-walked, so an edited milestone is named even when the
    editor also recomputed its leaf.

    Args:
        records: Export lines (subject, seq, kind, at, prev, data, leaf, batch_no, index).
        events: ``RootAnchoredEvent`` values from the registry.
        progress: A rich progress display to advance per batch.

    Returns:
        The report.
    """
    from domain.evidence_types import batch_id_for
    from domain.merkle import build_tree
    from domain.milestones import leaf_hash, verify_chain

    report = ReplayReport()
    by_batch: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_batch[int(r["batch_no"])].append(r)
    # Map on-chain batch ids back to batch numbers: ids are derived from numbers (evidence format).
    highest = max([*by_batch, 0]) + len(events) + 1
    number_of_id = {batch_id_for(n): n for n in range(1, highest + 1)}
    on_chain: dict[int, Any] = {}
    for event in events:
        n = number_of_id.get(event.batch_id)
        if n is None:
            report.missing.append(f"root {('0x' + event.root.hex())[:18]}… (batch id {event.batch_id.hex()[:16]}…) "
                                  f"is anchored in block {event.block_number} with {event.leaf_count} leaves, "
                                  "but its batch number is unknown to the export")
            continue
        on_chain[n] = event
    task = progress.add_task("replaying batches", total=len(set(on_chain) | set(by_batch))) if progress else None
    for n in sorted(set(on_chain) | set(by_batch)):
        leaves = sorted(by_batch.get(n, []), key=lambda r: int(r.get("index", 0)))
        event = on_chain.get(n)
        report.batches_checked += 1
        report.leaves_checked += len(leaves)
        if event is None:
            report.extra.extend(f"{r['subject']} #{r['seq']} ({r['kind']}): claims batch {n}, which is not "
                                "anchored on chain" for r in leaves)
        elif not leaves:
            report.missing.append(f"batch {n}: all {event.leaf_count} leaves anchored in block "
                                  f"{event.block_number} are missing from the export")
        else:
            _compare_batch(n, leaves, event, report, build_tree, leaf_hash)
        if progress is not None and task is not None:
            progress.advance(task)
    # Hash chains across batches: an edit that recomputed its own leaf still breaks the next link.
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_subject[str(r["subject"])].append(r)
    for subject, links in by_subject.items():
        links.sort(key=lambda r: int(r["seq"]))
        for problem in verify_chain(subject, links):
            if problem.problem.startswith("previous-leaf link"):
                report.altered.append(f"{subject} #{problem.seq}: {problem.problem} (an earlier milestone was "
                                      "changed, removed or re-ordered)")
            elif problem.problem.startswith("sequence"):
                report.missing.append(f"{subject}: {problem.problem} (milestones missing from the export)")
    return report


def _compare_batch(n: int, leaves: list[dict[str, Any]], event: Any, report: ReplayReport,
                   build_tree: Any, leaf_hash: Any) -> None:
    recorded = []
    for r in leaves:
        label = f"{r['subject']} #{r['seq']} ({r['kind']}), batch {n}"
        recomputed = leaf_hash(str(r["subject"]), int(r["seq"]), str(r["kind"]), str(r["at"]), str(r["prev"]),
                               dict(r["data"]))
        if recomputed != r["leaf"]:
            report.altered.append(f"{label}: content does not hash to its leaf")
        recorded.append(bytes.fromhex(str(r["leaf"]).removeprefix("0x")))
    root = build_tree(recorded).root
    if root == event.root and len(recorded) == event.leaf_count:
        return
    if len(recorded) < event.leaf_count:
        report.missing.append(f"batch {n}: {event.leaf_count - len(recorded)} of its {event.leaf_count} "
                              f"anchored leaves are missing from the export")
    elif len(recorded) > event.leaf_count:
        report.extra.append(f"batch {n}: the export has {len(recorded)} leaves, the chain anchored "
                            f"{event.leaf_count}")
    else:
        report.altered.append(f"batch {n}: the rebuilt Merkle root differs from the one anchored in block "
                              f"{event.block_number} (a leaf was replaced or re-ordered)")


def _events(registry: Any, w3: Any, from_block: int, chunk: int) -> list[Any]:
    head = int(w3.eth.block_number)
    events: list[Any] = []
    start = from_block
    # Public nodes cap eth_getLogs ranges: ask in chunks.
    while start <= head:
        end = min(start + chunk - 1, head)
        events.extend(registry.root_anchored_events(start, end))
        start = end + 1
    return events


@audit_app.command()
def replay(
    export_file: Path = typer.Option(..., "--export", help="leaves file written by `audit export`"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of YOUR node"),
    registry: str = typer.Option(..., "--registry", help="EvidenceRegistry address"),
    from_block: int = typer.Option(0, "--from-block", help="first block to scan (the registry's deployment)"),
    chunk: int = typer.Option(10_000, "--chunk", min=1, help="blocks per eth_getLogs request"),
) -> None:
    """Re-verify every anchored batch from the registry's events and an export of leaves."""
    from activities.verification import connect
    from contracts.clients import EvidenceRegistryClient
    from contracts.deploy import code_matches_artifact

    records = _read_export(export_file)
    w3 = connect(rpc)
    try:
        if not code_matches_artifact(w3, registry, "EvidenceRegistry"):
            console.print(f"{_MARKS[CheckStatus.FAIL]}  the code at {registry} is not the published EvidenceRegistry")
            raise typer.Exit(EXIT_FAILED)
        client = EvidenceRegistryClient(w3, registry)
        events = _events(client, w3, from_block, chunk)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - report any node failure plainly
        raise _die(f"could not read the registry's events from {rpc}: {exc}", EXIT_FAILED) from exc
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as progress:
        report = replay_export(records, events, progress)
    table = Table(title="Replay of the anchored record")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("batches anchored on chain", str(len(events)))
    table.add_row("batches checked", str(report.batches_checked))
    table.add_row("leaves in the export", str(report.leaves_checked))
    table.add_row("missing", str(len(report.missing)))
    table.add_row("extra", str(len(report.extra)))
    table.add_row("altered", str(len(report.altered)))
    console.print(table)
    for title, items in (("MISSING", report.missing), ("EXTRA", report.extra), ("ALTERED", report.altered)):
        for item in items:
            console.print(f"[bold red]{title}[/]  {item}")
    if report.ok:
        console.print("[bold green]Replay verified: every anchored batch matches the export exactly.[/]")
        return
    console.print("[bold red]REPLAY FAILED: " + ", ".join(
        f"{len(items)} {name}" for name, items in (("missing", report.missing), ("extra", report.extra),
                                                   ("altered", report.altered)) if items) + ".[/]")
    raise typer.Exit(EXIT_FAILED)


# ------------------------------------------------------------------------------ checkpoints

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
    from activities.verification import connect
    from contracts.clients import EvidenceRegistryClient

    w3 = connect(rpc)
    try:
        head = w3.eth.get_block("latest")
        anchors: list[dict[str, Any]] = []
        if registry is not None:
            events = _events(EvidenceRegistryClient(w3, registry), w3, from_block, chunk)
            anchors = [{"root": "0x" + e.root.hex(), "batch_id": "0x" + e.batch_id.hex(),
                        "block_number": e.block_number, "block_hash": e.block_hash, "tx_hash": e.tx_hash}
                       for e in events if e.block_number <= int(head["number"])]
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001
        raise _die(f"could not read the chain at {rpc}: {exc}", EXIT_FAILED) from exc
    account = _auditor_account(key_file, create=True)
    head_number = int(head["number"])
    body: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT, "chain_id": chain_id, "registry": registry, "taken_at": _now(),
        "head": {"block_number": head_number, "block_hash": "0x" + bytes(head["hash"]).hex()},
        "anchors": anchors}
    signed = account.sign_message(_checkpoint_message(body))
    document = {**body, "signer": str(account.address), "signature": "0x" + bytes(signed.signature).hex()}
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

    from activities.verification import connect
    from contracts.clients import EvidenceRegistryClient

    try:
        document = json.loads(checkpoint.read_text(encoding="utf-8"))
        body = {k: v for k, v in document.items() if k not in ("signer", "signature")}
        if body.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a {CHECKPOINT_FORMAT} file")
        recovered = str(Account.recover_message(_checkpoint_message(body), signature=document["signature"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _die(f"cannot read checkpoint {checkpoint}: {exc}", EXIT_FAILED) from exc
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
            if "0x" + bytes(block["hash"]).hex() != block_hash:
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
    if not _print_checks(checks):
        raise typer.Exit(EXIT_FAILED)


def main() -> None:
    """Entry point for ``python -m cli.audit``."""
    try:
        audit_app()
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    main()
