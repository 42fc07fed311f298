"""``qualitrail audit points``: check a closed month of the personal-points ledger against the chain.

The month's ledger hashes to one root (domain/points.py); that root is in the milestone
``points-YYYY-MM``, whose leaf is anchored. The command recomputes the root from the entries it
reads, the milestone's leaf from its fields, its Merkle proof to the batch root, and asks the
registry on YOUR node whether that root is anchored. An entry changed, added or removed after the
month closed changes the root and fails the check.
"""

from __future__ import annotations

import json

import typer

from cli.output import EXIT_FAILED, console, die, print_checks
from domain.certificate_checks import Check, CheckStatus
from domain.milestones import leaf_hash
from domain.points import ledger_root, month_bounds

PASS, FAIL = CheckStatus.PASS, CheckStatus.FAIL


def points(
    month: str = typer.Option(..., "--month", help="the month, YYYY-MM"),
    agent: str | None = typer.Option(None, "--agent", help="also list this agent's entries and total"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of YOUR node"),
    registry: str = typer.Option(..., "--registry", help="EvidenceRegistry address you trust"),
    database_url: str | None = typer.Option(None, "--database-url", help="read model (default: settings)"),
) -> None:
    """Check that a month's points ledger is the one anchored when the month closed."""
    from chain.registry import EvidenceRegistryClient
    from chain.rpc import connect
    from domain.encoding import from_hex
    from domain.merkle import verify_proof
    from domain.milestones import tree_leaf
    from readmodel import evidence
    from readmodel import points as ledger
    from readmodel.db import session_scope
    from settings import get_settings

    try:
        month_bounds(month)
    except ValueError as exc:
        raise die(str(exc)) from None
    checks: list[Check] = []
    with session_scope(database_url or get_settings().db_url) as session:
        rows = ledger.month_entries(session, month)
        m = ledger.month_milestone(session=session, month=month)
        if m is None:
            raise die(f"month {month} is not closed: no milestone {ledger.points_subject(month)}", EXIT_FAILED)
        batch = evidence.get_batch(session=session, batch_no=m.batch_no) if m.batch_no is not None else None
        data: dict[str, str] = json.loads(m.data)
        root = ledger_root(month, ledger.as_entries(rows))
        checks.append(Check("ledger", "The ledger is the one that was closed", PASS if root == data.get("ledger_root")
                            else FAIL, f"{len(rows)} entries hash to {root}; the month's milestone holds "
                            f"{data.get('ledger_root')}"))
        leaf = leaf_hash(m.subject, m.seq, m.kind, m.at, m.prev, data)
        checks.append(Check("leaf", "The month's milestone is intact", PASS if leaf == m.leaf else FAIL,
                            f"its fields hash to {leaf}"))
        if batch is None or m.proof is None:
            checks.append(Check("anchor", "Anchored on the blockchain", FAIL, "the milestone is not anchored yet"))
        else:
            proof = [from_hex(p) for p in json.loads(m.proof)]
            # The batch's format says how its tree leaves are made from milestone leaves.
            included = verify_proof(tree_leaf(from_hex(leaf), m.kind, batch.format), proof, from_hex(batch.root))
            checks.append(Check("inclusion", "The milestone is in its batch", PASS if included else FAIL,
                                f"Merkle proof to root {batch.root} (batch {batch.batch_no})"))
            client = EvidenceRegistryClient(connect(rpc), registry)
            info = client.anchor_info(from_hex(batch.root))
            checks.append(Check("anchor", "Anchored on the blockchain", PASS if info else FAIL,
                                f"root anchored in block {info.block_number}" if info
                                else f"root {batch.root} is not anchored on {rpc}"))
        if agent:
            mine = [r for r in rows if r.agent == agent]
            for r in mine:
                console.print(f"  {r.event_at}  {r.ticket_id:<24} {r.rule:<28} {r.points:+d}")
            console.print(f"{agent}: {len(mine)} entries, total {sum(r.points for r in mine):+d} points in {month}")
    if not print_checks(checks):
        raise typer.Exit(EXIT_FAILED)
