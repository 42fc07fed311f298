"""``qualitrail audit report``: recompute a month's public quality report from its anchored record.

Reads the export (``GET /reports/YYYY-MM/export.json``): the report, the frozen record it was
computed from, and its milestone ``report-YYYY-MM`` with the Merkle proof of its batch. The command
hashes the record and the report as published, recomputes every figure from the record line by
line (``domain/report.py``, not the operator's SQL), checks the milestone's leaf and proof and, given
YOUR node, that the batch root is anchored. An edited figure, an edited record line or a report
other than the anchored one fails, and the output names the figures that differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cli.output import EXIT_FAILED, EXIT_UNREADABLE, die, print_checks
from domain.certificate_checks import Check, CheckStatus
from domain.encoding import from_hex
from domain.json_limits import json_depth
from domain.merkle import verify_proof
from domain.milestones import leaf_hash, tree_leaf
from domain.points import month_bounds
from domain.report import (
    assemble,
    counts_from_record,
    differences,
    digest,
    figures_from_counts,
    record_hash_of,
    report_subject,
)

PASS, FAIL, SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
MAX_DEPTH = 32


def _ok(flag: bool) -> CheckStatus:
    return PASS if flag else FAIL


def read_export(path: Path) -> dict[str, Any]:
    """The export as JSON, refused (exit 2) if it is not one or is nested deeper than a report is."""
    try:
        raw = path.read_bytes()
        if json_depth(raw) > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH}")
        doc = json.loads(raw)
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), dict) for k in ("report", "record", "anchor")):
            raise ValueError("not a report export: report, record and anchor are needed")
        return doc
    except (OSError, ValueError) as exc:
        raise die(f"{path}: {exc}", EXIT_UNREADABLE) from None


def report_checks(month: str, doc: dict[str, Any]) -> list[Check]:
    """Every offline check of an export (the chain is asked separately)."""
    report, record, anchor = doc["report"], doc["record"], doc["anchor"]
    checks: list[Check] = []
    record_hash = record_hash_of(record)
    checks.append(Check("record", "The record is the one the report was computed from",
                        _ok(record_hash == report.get("record_hash") and record.get("month") == month),
                        f"the record hashes to {record_hash}; the report names {report.get('record_hash')}"))
    try:
        recomputed = assemble(record, figures_from_counts(record, counts_from_record(record)), record_hash)
        changed = differences(recomputed["figures"], report.get("figures"))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        changed = [f"the record cannot be read ({type(exc).__name__}: {exc})"]
    checks.append(Check("figures", "Every figure recomputes from the record", _ok(not changed),
                        f"{len(changed)} figure(s) differ" if changed else "all figures match",
                        tuple(changed)))
    milestone = anchor.get("milestone") or {}
    data = milestone.get("data") or {}
    report_hash = digest(report)
    checks.append(Check("report", "The report is the one anchored", _ok(report_hash == data.get("report_hash")),
                        f"the report hashes to {report_hash}; its milestone holds {data.get('report_hash')}"))
    try:
        leaf = leaf_hash(milestone["subject"], milestone["seq"], milestone["kind"], milestone["at"], milestone["prev"],
                         data)
        intact = leaf == milestone["leaf"] and milestone["subject"] == report_subject(month)
    except (KeyError, TypeError):
        leaf, intact = "", False
    checks.append(Check("leaf", "The report's milestone is intact", _ok(intact), f"its fields hash to {leaf}"))
    if "proof" in anchor and "root" in anchor:
        try:
            included = verify_proof(tree_leaf(from_hex(leaf), milestone["kind"], int(anchor.get("batch_format", 1))),
                                    [from_hex(p) for p in anchor["proof"]], from_hex(anchor["root"]))
        except (KeyError, TypeError, ValueError):
            included = False
        checks.append(Check("inclusion", "The milestone is in its batch", _ok(included),
                            f"Merkle proof to root {anchor['root']} (batch {anchor.get('batch')})"))
    return checks


def report(
    month: str = typer.Option(..., "--month", help="the month, YYYY-MM"),
    export: Path = typer.Option(..., "--export", help="the report's export (GET /reports/YYYY-MM/export.json)"),
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of YOUR node (else the anchor is not checked)"),
    registry: str | None = typer.Option(None, "--registry", help="EvidenceRegistry address you trust"),
) -> None:
    """Recompute every figure of a month's quality report from its anchored record and compare."""
    try:
        month_bounds(month)
    except ValueError as exc:
        raise die(str(exc)) from None
    doc = read_export(export)
    checks = report_checks(month, doc)
    anchor = doc["anchor"]
    if rpc and registry and "root" in anchor:
        from chain.registry import EvidenceRegistryClient
        from chain.rpc import connect

        info = EvidenceRegistryClient(connect(rpc), registry).anchor_info(from_hex(anchor["root"]))
        checks.append(Check("anchor", "Anchored on the blockchain", _ok(info is not None),
                            f"root anchored in block {info.block_number}" if info
                            else f"root {anchor['root']} is not anchored on {rpc}"))
    elif "root" not in anchor:
        checks.append(Check("anchor", "Anchored on the blockchain", FAIL if rpc else SKIP,
                            "the export has no anchor yet (its batch is not on the chain)"))
    else:
        checks.append(Check("anchor", "Anchored on the blockchain", SKIP, "give --rpc and --registry to check"))
    if not print_checks(checks):
        raise typer.Exit(EXIT_FAILED)
