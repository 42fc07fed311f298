"""``qualitrail audit sample``: recompute a month's spot-check sample from the chain and an export.

Trusts the chain and the export (``qualitrail audit export``, itself checked by ``audit replay``):
the sample's milestone must be intact and anchored; its seed must be the hash of the first block at
or after the published instant; the month's population, drawn again from the tickets' milestones
with that seed, must give the anchored population and sample hashes. A changed seed, a dropped or
added ticket, or a re-drawn sample fails.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import typer

from cli.output import EXIT_FAILED, console, die, print_checks
from domain.certificate_checks import Check, CheckStatus
from domain.encoding import from_hex, parse_time, to_hex
from domain.merkle import build_tree
from domain.milestones import leaf_hash, tree_leaf
from domain.points import month_bounds
from domain.spot_check import (
    CLOSING_KINDS,
    Checklist,
    SpotCheckPolicy,
    canonical,
    describe_ticket,
    list_hash,
    population_line,
    select,
    spot_check_subject,
    stratum_counts,
)

PASS, FAIL = CheckStatus.PASS, CheckStatus.FAIL


def _ok(flag: bool) -> CheckStatus:
    return PASS if flag else FAIL


def _read(export: Path) -> list[dict[str, Any]]:
    lines = export.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[1:] if line.strip()]


def sample(
    month: str = typer.Option(..., "--month", help="the month, YYYY-MM"),
    export: Path = typer.Option(..., "--export", help="the export (qualitrail audit export)"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of YOUR node"),
    registry: str = typer.Option(..., "--registry", help="EvidenceRegistry address you trust"),
    show: bool = typer.Option(False, "--list", help="print the sampled tickets"),
) -> None:
    """Check that a month's spot-check sample is the one its seed and the month's tickets give."""
    from chain.registry import EvidenceRegistryClient
    from chain.rpc import connect

    try:
        start, end = month_bounds(month)
    except ValueError as exc:
        raise die(str(exc)) from None
    records = _read(export)
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_subject[r["subject"]].append(r)
    head = next((r for r in by_subject.get(spot_check_subject(month), []) if r["seq"] == 0), None)
    if head is None:
        raise die(f"the export has no anchored sample of {month}", EXIT_FAILED)
    data: dict[str, str] = head["data"]
    checks: list[Check] = []

    intact = [r for r in records if leaf_hash(r["subject"], r["seq"], r["kind"], r["at"], r["prev"], r["data"])
              != r["leaf"]]
    checks.append(Check("export", "Every exported milestone hashes to its leaf", _ok(not intact),
                        f"{len(records)} milestones, {len(intact)} altered",
                        tuple(f"{r['subject']} #{r['seq']}" for r in intact[:20])))
    batch = sorted((r for r in records if r["batch_no"] == head["batch_no"]), key=lambda r: r["index"])
    # The batch's format says how its tree leaves are made (absent: format 1, raw milestone leaves).
    root = build_tree([tree_leaf(from_hex(r["leaf"]), str(r["kind"]), int(r.get("batch_format", 1)))
                       for r in batch]).root
    w3 = connect(rpc)
    info = EvidenceRegistryClient(w3, registry).anchor_info(root)
    checks.append(Check("anchor", "The sample's batch is anchored", _ok(info is not None),
                        f"batch {head['batch_no']} root 0x{root.hex()}" + (f" in block {info.block_number}" if info
                                                                          else " is not on the chain")))

    not_before = int(parse_time(data["not_before"]).timestamp())
    number = int(data["seed_block"])
    block = w3.eth.get_block(number)
    first = number == 0 or int(w3.eth.get_block(number - 1)["timestamp"]) < not_before
    seed_ok = (to_hex(block["hash"]) == data["seed_hash"] and int(block["timestamp"]) >= not_before
               and first)
    checks.append(Check("seed", "The seed is the first block at or after the published instant", _ok(seed_ok),
                        f"block {number} ({data['not_before']}): {data['seed_hash']}"))

    people = []
    for subject, chain in by_subject.items():
        chain.sort(key=lambda r: r["seq"])
        closing = next((r for r in chain if r["kind"] in CLOSING_KINDS), None)
        if closing is None or not start <= parse_time(closing["at"]) < end:
            continue
        upto = [(r["kind"], r["data"], r["leaf"]) for r in chain if r["seq"] <= closing["seq"]]
        people.append(describe_ticket(subject, upto, int(data["low_rating_max"])))
    low, high = (float(p) for p in data["percent"].split("-"))
    policy = SpotCheckPolicy(min_percent=low, max_percent=high, abnormal_weight=float(data["abnormal_weight"]),
                             low_rating_max=int(data["low_rating_max"]), seed_delay_hours=0, review_days=0,
                             reminder_days_before=0, reviewers=[], escalate_to="",
                             checklist=Checklist([], [], []))
    chosen = select(people, data["seed_hash"], policy)
    population_hash = list_hash(population_line(c) for c in people)
    checks.append(Check("population", "The month's closed tickets are the ones drawn from",
                        _ok(population_hash == data["population_hash"]),
                        f"{len(people)} tickets (anchored: {data['population']})"))
    sample_hash = list_hash(c.ticket_id for c in chosen)
    same = sample_hash == data["sample_hash"] and canonical(stratum_counts(people, chosen)) == data["strata"]
    checks.append(Check("sample", "The sample is the one the seed gives", _ok(same),
                        f"{len(chosen)} tickets (anchored: {data['sampled']})"))
    if show:
        for c in chosen:
            console.print(f"  {c.ticket_id:<28} {c.stratum:<40} {'abnormal' if c.abnormal else ''}")
    if not print_checks(checks):
        raise typer.Exit(EXIT_FAILED)
