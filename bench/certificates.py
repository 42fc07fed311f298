"""Certificate verifications per second: offline, and with the chain check against a local Anvil.

Usage: ``.venv/bin/python -m bench.certificates [--seconds 3] [--sizes 6,30,120]``

Starts its own Anvil (from ``contracts/node_modules``), deploys the contracts, and writes one
ticket per size and batch layout into a temporary read model: its milestones (one SLA breach backed
by a real voucher, then a ``voucher_issued`` milestone) among other tickets' leaves, anchored
either all in one batch of the default size bound (256 leaves, a busy desk) or one 16-leaf batch
per milestone (a quiet desk where the time bound cuts every batch), each root in its own
transaction. It builds each certificate with ``certificates.issue`` and verifies it in a loop:

- offline: ``domain.certificate.verify_certificate_offline`` (digest, EIP-712 signature recovery,
  hash chain, Merkle inclusion);
- with the chain check: ``certificates.verify.verify_certificate`` with a Web3 connection
  (all of the above, plus network, contract code, every root, block hash, transaction receipt and
  confirmations, the registry's ``verifyLeaf`` for each milestone, and the voucher's status).

Prints a table with the rate of each and the ratio between them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_typed_data
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, select
from web3 import Web3

from certificates.issue import build_certificate, signer_for
from certificates.verify import verify_certificate
from chain.deployment import deploy_contracts
from chain.keys import DEV_PRIVATE_KEYS
from chain.registry import EvidenceRegistryClient
from chain.rpc import connect
from chain.voucher import VoucherClient
from contracts.anvil import free_port, start_anvil
from domain.certificate import recover_signer, typed_data
from domain.certificate_checks import CheckStatus, verify_certificate_offline
from domain.evidence_types import batch_id_for, claim_hash, customer_ref_bytes
from domain.merkle import build_tree
from domain.milestones import CURRENT_BATCH_FORMAT, MilestoneKind, format_time, new_milestone, salted_hash, tree_leaf
from domain.milestones import Milestone as Link
from readmodel.db import init_db
from readmodel.models import AnchorBatch, Milestone, Ticket, Voucher
from settings import Settings

BATCH = 256


def _store(session: Session, m: Link) -> Milestone:
    row = Milestone(subject=m.subject, seq=m.seq, kind=m.kind, at=format_time(m.at), prev=m.prev, leaf=m.leaf,
                    data=json.dumps(m.data, sort_keys=True, separators=(",", ":")))
    session.add(row)
    return row


def _ticket_links(ticket_id: str, size: int, start: datetime, ref_hash: str) -> list[Link]:
    at = start
    links = [new_milestone(ticket_id, None, MilestoneKind.OPENED, at, {
        "channel": "app", "category": "after_sales", "priority": "P2", "team": "after-sales",
        "customer_ref_hash": ref_hash, "supplier": ""})]
    links.append(new_milestone(ticket_id, links[-1], MilestoneKind.SLA_BREACH, at + timedelta(minutes=31),
                               {"clock": "first_response", "target_seconds": "1800"}))
    while len(links) < size:
        at += timedelta(minutes=5)
        links.append(new_milestone(ticket_id, links[-1], MilestoneKind.NOTE_ADDED, at, {
            "actor": "agent#0", "text_hash": salted_hash(b"bench", f"note {len(links)}", "text")}))
    return links


def _anchor(session: Session, registry: EvidenceRegistryClient, rows: list[Milestone], batch_no: int) -> None:
    tree = build_tree([tree_leaf(bytes.fromhex(r.leaf[2:]), r.kind, CURRENT_BATCH_FORMAT) for r in rows])
    for i, row in enumerate(rows):
        row.batch_no = batch_no
        row.proof = json.dumps(["0x" + p.hex() for p in tree.proof(i)])
    receipt = registry.anchor(tree.root, len(rows), batch_id_for(batch_no))
    session.add(AnchorBatch(
        batch_no=batch_no, batch_id="0x" + batch_id_for(batch_no).hex(), root="0x" + tree.root.hex(),
        leaf_count=len(rows), status="anchored", tx_hash=receipt.tx_hash, block_number=receipt.block_number,
        block_hash=receipt.block_hash, created_at=datetime.now(UTC), format=CURRENT_BATCH_FORMAT))
    session.commit()


LAYOUTS = {
    # Busy desk: the whole ticket lands in one batch of the default size bound (256 leaves).
    "one batch": (BATCH, False),
    # Quiet desk: the 2-second time bound cuts a small batch (16 leaves) for every milestone.
    "batch per milestone": (16, True),
}


def build(tmp: Path, rpc_url: str, sizes: list[int]) -> tuple[Settings, dict[tuple[str, int], dict[str, object]]]:
    """Deploy, write and anchor one ticket per size and layout; return settings and the certificates."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    deployer, anchorer, issuer, redeemer = (Account.from_key(k) for k in DEV_PRIVATE_KEYS)
    var_dir = tmp / "var"
    deployment = deploy_contracts(w3, deployer, anchorer=anchorer.address, issuer=issuer.address,
                                  redeemer=redeemer.address, record_dir=var_dir / "deployments")
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    engine = init_db(db_url)
    registry = EvidenceRegistryClient(w3, deployment.registry, anchorer)
    vouchers = VoucherClient(w3, deployment.voucher, issuer)
    ref_hash = salted_hash(b"bench", "customer", "customer")
    start = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    batch_no = 0
    tickets: dict[tuple[str, int], str] = {}
    with Session(engine) as session:
        for layout, (batch_size, spread) in LAYOUTS.items():
            for size in sizes:
                ticket = f"T-BENCH-{'S' if spread else 'O'}{size}"
                tickets[(layout, size)] = ticket
                # Only tickets get certificates: the read model must know the subject is one.
                session.add(Ticket(id=ticket, status="closed", priority="P2", category="after_sales",
                                   team="after-sales", channel="app", customer_ref_hash=ref_hash, summary="bench",
                                   description="", created_at=start, updated_at=start))
                links = _ticket_links(ticket, size, start, ref_hash)
                groups = [[m] for m in links] if spread else [links]
                for group in groups:
                    filler = [new_milestone(f"T-FILL-{ticket}-{batch_no}-{i}", None, MilestoneKind.OPENED, start,
                                            {"n": str(i)}) for i in range(batch_size - len(group))]
                    # Other tickets' leaves first: the ticket's leaves sit anywhere in a real tree.
                    rows = [_store(session, m) for m in filler + group]
                    session.commit()
                    batch_no += 1
                    _anchor(session, registry, rows, batch_no)
                breach = session.exec(select(Milestone).where(Milestone.subject == ticket,
                                                              Milestone.kind == MilestoneKind.SLA_BREACH)).one()
                root = session.get(AnchorBatch, breach.batch_no)
                assert root is not None
                claim = f"{ticket}:first_response"
                expires = int(w3.eth.get_block("latest")["timestamp"]) + 86400 * 90
                proof = [bytes.fromhex(p[2:]) for p in json.loads(breach.proof or "[]")]
                issued = vouchers.issue(claim_hash(claim), customer_ref_bytes(ref_hash), 2000, expires,
                                        bytes.fromhex(breach.leaf[2:]), proof, bytes.fromhex(root.root[2:]))
                session.add(Voucher(claim_id=claim, ticket_id=ticket, breach="first_response",
                                    voucher_id=issued.voucher_id, amount=2000, currency="CNY",
                                    tx_hash=issued.tx_hash, block_number=issued.block_number,
                                    breach_leaf=breach.leaf, root=root.root))
                session.commit()
                # The voucher_issued milestone makes the voucher part of the certificate.
                last = _ticket_links(ticket, size, start, ref_hash)[-1]
                voucher_link = new_milestone(ticket, last, MilestoneKind.VOUCHER_ISSUED, start + timedelta(days=1),
                                             {"breach": "first_response", "voucher_id": str(issued.voucher_id),
                                              "amount": "2000", "tx_hash": issued.tx_hash,
                                              "breach_leaf": breach.leaf})
                filler = [new_milestone(f"T-FILL-{ticket}-v-{i}", None, MilestoneKind.OPENED, start, {"n": str(i)})
                          for i in range(batch_size - 1)]
                rows = [_store(session, m) for m in [*filler, voucher_link]]
                session.commit()
                batch_no += 1
                _anchor(session, registry, rows, batch_no)
    settings = Settings(database_url=db_url, var_dir=var_dir, rpc_url=rpc_url)
    certs: dict[tuple[str, int], dict[str, object]] = {}
    with Session(engine) as session:
        for key, ticket in tickets.items():
            certs[key] = build_certificate(session=session, ticket_id=ticket, signer=signer_for(settings))
    return settings, certs


def rate(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Run ``fn`` repeatedly for about ``seconds``; return (calls per second, mean ms per call)."""
    fn()  # warm caches (ABI parsing, connection pool)
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        fn()
        count += 1
    elapsed = time.perf_counter() - began
    return count / elapsed, 1000 * elapsed / count


def p50_ms(fn: Callable[[], object], seconds: float) -> float:
    """Median milliseconds of ``fn`` over about ``seconds`` of calls."""
    fn()
    times: list[float] = []
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * sorted(times)[len(times) // 2]


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per row and mode")
    parser.add_argument("--sizes", default="6,30,120", help="milestones per certificate, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    console = Console(width=130)
    with tempfile.TemporaryDirectory() as tmp, start_anvil(free_port()) as node:
        settings, certs = build(Path(tmp), node.url, sizes)
        signer = signer_for(settings).address
        w3 = connect(node.url)
        table = Table(title=f"Certificate verifications per second (Anvil on 127.0.0.1, {args.seconds:g} s each)")
        table.add_column("layout")
        for column in ("milestones", "batches", "offline /s", "offline ms", "with chain /s", "with chain p50 ms",
                       "offline ÷ chain"):
            table.add_column(column, justify="right")
        for (layout, _size), cert in certs.items():
            offline_checks = verify_certificate_offline(cert, trusted_signer=signer)
            chain_checks = verify_certificate(cert, w3=w3, trusted_signer=signer)
            for check in [*offline_checks, *chain_checks]:
                assert check.status == CheckStatus.PASS, check
            offline, offline_ms = rate(partial(verify_certificate_offline, cert, trusted_signer=signer), args.seconds)
            chain, _ = rate(partial(verify_certificate, cert, w3=w3, trusted_signer=signer), args.seconds)
            chain_p50 = p50_ms(partial(verify_certificate, cert, w3=w3, trusted_signer=signer), args.seconds)
            table.add_row(layout, str(len(cert["milestones"])), str(len(cert["batches"])),  # type: ignore[arg-type]
                          f"{offline:,.0f}", f"{offline_ms:.2f}", f"{chain:,.1f}", f"{chain_p50:.2f}",
                          f"{offline / chain:.1f}×")
        console.print(table)
        # Baselines from the same run: the floor of a chain check (one JSON-RPC round trip), and the
        # signature recovery through eth_account's generic EIP-712 encoder that the checks used before.
        cert = next(iter(certs.values()))
        message = encode_typed_data(full_message=typed_data(str(cert["ticket_id"]), str(cert["digest"]),
                                                            int(cert["chain_id"]), str(cert["registry"])))
        base = Table(title="Baselines in the same run")
        base.add_column("operation")
        base.add_column("per second", justify="right")
        base.add_column("p50 ms", justify="right")
        for name, fn in (
            ("one JSON-RPC round trip (eth_blockNumber)", lambda: w3.eth.block_number),
            ("signature recovery, eth_account's generic encoder (before)",
             lambda: Account.recover_message(message, signature=str(cert["signature"]))),
            ("signature recovery, recover_signer (now)", lambda: recover_signer(cert, str(cert["digest"]))),
        ):
            per_second, _ = rate(fn, args.seconds)
            base.add_row(name, f"{per_second:,.0f}", f"{p50_ms(fn, args.seconds):.3f}")
        console.print(base)


if __name__ == "__main__":
    main()
