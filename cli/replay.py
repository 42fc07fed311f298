"""`qualitrail audit replay`: rebuild every anchored batch from an export and compare it with the
registry's events on the auditor's own node."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.output import EXIT_FAILED, MARKS, console, die, err
from domain.certificate_checks import CheckStatus
from domain.encoding import from_hex

# Version 2 lines may carry "batch_format" (absent: 1); version 1 exports still replay.
EXPORT_FORMAT = "qualitrail.export.v2"
EXPORT_FORMATS = ("qualitrail.export.v1", EXPORT_FORMAT)


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
        raise die(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise die(f"{path}:{number}: not JSON") from exc
        if number == 1 and isinstance(record, dict) and "format" in record:
            if record["format"] not in EXPORT_FORMATS:
                raise die(f"{path}: unknown export format {record['format']!r}")
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
    from domain.milestones import leaf_hash, tree_leaf, verify_chain

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
            _compare_batch(n, leaves, event, report, build_tree, leaf_hash, tree_leaf)
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
                   build_tree: Any, leaf_hash: Any, tree_leaf: Any) -> None:
    recorded = []
    for r in leaves:
        label = f"{r['subject']} #{r['seq']} ({r['kind']}), batch {n}"
        recomputed = leaf_hash(str(r["subject"]), int(r["seq"]), str(r["kind"]), str(r["at"]), str(r["prev"]),
                               dict(r["data"]))
        if recomputed != r["leaf"]:
            report.altered.append(f"{label}: content does not hash to its leaf")
        # The batch's format says how its tree leaves are made (absent: format 1, raw milestone leaves).
        recorded.append(tree_leaf(from_hex(str(r["leaf"])), str(r["kind"]), int(r.get("batch_format", 1))))
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


def registry_events(registry: Any, w3: Any, from_block: int, chunk: int) -> list[Any]:
    head = int(w3.eth.block_number)
    events: list[Any] = []
    start = from_block
    # Public nodes cap eth_getLogs ranges: ask in chunks.
    while start <= head:
        end = min(start + chunk - 1, head)
        events.extend(registry.root_anchored_events(start, end))
        start = end + 1
    return events



def replay(
    export_file: Path = typer.Option(..., "--export", help="leaves file written by `audit export`"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of YOUR node"),
    registry: str = typer.Option(..., "--registry", help="EvidenceRegistry address"),
    from_block: int = typer.Option(0, "--from-block", help="first block to scan (the registry's deployment)"),
    chunk: int = typer.Option(10_000, "--chunk", min=1, help="blocks per eth_getLogs request"),
) -> None:
    """Re-verify every anchored batch from the registry's events and an export of leaves."""
    from chain.deployment import code_matches_artifact
    from chain.registry import EvidenceRegistryClient
    from chain.rpc import connect

    records = _read_export(export_file)
    w3 = connect(rpc)
    try:
        if not code_matches_artifact(w3, registry, "EvidenceRegistry"):
            console.print(f"{MARKS[CheckStatus.FAIL]}  the code at {registry} is not the published EvidenceRegistry")
            raise typer.Exit(EXIT_FAILED)
        client = EvidenceRegistryClient(w3, registry)
        events = registry_events(client, w3, from_block, chunk)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - report any node failure plainly
        raise die(f"could not read the registry's events from {rpc}: {exc}", EXIT_FAILED) from exc
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


