"""Real evidence for certificate tests, built without the workflows.

Milestones come from ``domain.milestones.new_milestone``; rows are written with the read-model
models into a SQLite file; each batch's Merkle root is anchored on a real Anvil through
the chain clients (``chain/``); proofs are stored the way the anchoring activity stores them (tree order =
ascending row id, ``readmodel.evidence``); a voucher is issued through the real contract.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
from sqlmodel import Session, col, select
from web3 import Web3

from chain.deployment import LEGACY_ARTIFACTS, Deployment, deploy_contracts
from chain.keys import DEV_PRIVATE_KEYS
from chain.registry import EvidenceRegistryClient
from chain.sender import TransactionSender
from chain.voucher import VoucherClient
from contracts.compile import load_artifact
from domain.evidence_types import batch_id_for, claim_hash, customer_ref_bytes
from domain.merkle import build_tree
from domain.milestones import CURRENT_BATCH_FORMAT, format_time, new_milestone, salted_hash, tree_leaf
from domain.milestones import Milestone as Link
from domain.milestones import MilestoneKind as K
from readmodel.db import init_db
from readmodel.models import AnchorBatch, Milestone, Ticket, Voucher
from settings import Settings

# What must never show up in a certificate, a page or on chain.
CUSTOMER_REF = "customer-4711@example.com"
DESCRIPTION = "Mrs Jane Doe, 12 Rue de Rivoli, phone +33 6 12 34 56 78: washing machine leaks"
SECRET = b"test-secret"
SIGNER_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # Anvil account 4
SIGNER = Account.from_key(SIGNER_KEY).address
OTHER_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"  # Anvil account 5


@dataclass
class World:
    """Where the evidence lives."""

    db_url: str
    var_dir: Path
    rpc_url: str
    deployment: Deployment
    ticket: str = "T-CERT-0001"  # breached, voucher issued, resolved; one milestone still pending
    other: str = "T-CERT-0002"  # a clean ticket sharing batch 1
    free_text: str = "T-CERT-0003"  # a pause reason in free text: its details are withheld
    batches: list[int] = field(default_factory=list)

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {"database_url": self.db_url, "var_dir": self.var_dir,
                                     "rpc_url": self.rpc_url, "public_base_url": "http://testserver"}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    def env(self, **overrides: str) -> dict[str, str]:
        """QT_ environment variables for a subprocess using this world."""
        env = {"QT_DATABASE_URL": self.db_url, "QT_VAR_DIR": str(self.var_dir), "QT_RPC_URL": self.rpc_url}
        env.update(overrides)
        return env


class _Chains:
    def __init__(self) -> None:
        self.links: dict[str, list[Link]] = {}
        self.at = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)

    def add(self, session: Session, subject: str, kind: str, data: dict[str, str] | None = None) -> Link:
        self.at += timedelta(minutes=7, microseconds=123)
        chain = self.links.setdefault(subject, [])
        m = new_milestone(subject, chain[-1] if chain else None, kind, self.at, data)
        chain.append(m)
        session.add(Milestone(subject=subject, seq=m.seq, kind=m.kind, at=format_time(m.at), prev=m.prev,
                              leaf=m.leaf, data=json.dumps(m.data, sort_keys=True, separators=(",", ":"))))
        session.commit()
        return m


def _anchor_pending(session: Session, registry: EvidenceRegistryClient, batch_no: int,
                    batch_format: int = CURRENT_BATCH_FORMAT) -> AnchorBatch:
    rows = list(session.exec(select(Milestone).where(col(Milestone.batch_no).is_(None))
                             .order_by(col(Milestone.id))))
    tree = build_tree([tree_leaf(bytes.fromhex(r.leaf[2:]), r.kind, batch_format) for r in rows])
    for i, row in enumerate(rows):
        row.batch_no = batch_no
        row.proof = json.dumps(["0x" + p.hex() for p in tree.proof(i)])
        session.add(row)
    receipt = registry.anchor(tree.root, len(rows), batch_id_for(batch_no))
    batch = AnchorBatch(batch_no=batch_no, batch_id="0x" + batch_id_for(batch_no).hex(),
                        root="0x" + tree.root.hex(), leaf_count=len(rows), status="anchored",
                        tx_hash=receipt.tx_hash, block_number=receipt.block_number, block_hash=receipt.block_hash,
                        created_at=datetime.now(UTC), anchored_at=datetime.now(UTC), format=batch_format)
    session.add(batch)
    session.commit()
    return batch


def build_world(tmp: Path, rpc_url: str) -> World:
    """Deploy fresh contracts on ``rpc_url`` and write a small anchored record into ``tmp``."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    deployer, anchorer, issuer, redeemer = (Account.from_key(k) for k in DEV_PRIVATE_KEYS)
    var_dir = tmp / "var"
    deployment = deploy_contracts(w3, deployer, anchorer=anchorer.address, issuer=issuer.address,
                                  redeemer=redeemer.address, record_dir=var_dir / "deployments")
    db_url = f"sqlite:///{tmp / 'readmodel.db'}"
    engine = init_db(db_url)
    world = World(db_url=db_url, var_dir=var_dir, rpc_url=rpc_url, deployment=deployment)
    registry = EvidenceRegistryClient(w3, deployment.registry, anchorer)
    vouchers = VoucherClient(w3, deployment.voucher, issuer)
    ref_hash = salted_hash(SECRET, CUSTOMER_REF, "customer")
    chains = _Chains()
    with Session(engine) as session:
        for ticket_id in (world.ticket, world.other, world.free_text):
            session.add(Ticket(id=ticket_id, status="open", priority="P2", category="after_sales",
                               team="after-sales", channel="app", customer_ref_hash=ref_hash,
                               summary="Leaking washing machine", description=DESCRIPTION,
                               created_at=chains.at, updated_at=chains.at))
        session.commit()
        opened = {"channel": "app", "category": "after_sales", "priority": "P2", "team": "after-sales",
                  "customer_ref_hash": ref_hash, "supplier": ""}
        chains.add(session, world.ticket, K.OPENED, opened)
        chains.add(session, world.other, K.OPENED, opened)
        chains.add(session, world.ticket, K.SLA_WARNING, {"clock": "first_response", "level": "75"})
        breach = chains.add(session, world.ticket, K.SLA_BREACH,
                            {"clock": "first_response", "target_seconds": "1800"})
        chains.add(session, world.other, K.FIRST_RESPONSE,
                   {"actor": "agent#0", "text_hash": salted_hash(SECRET, "Hello Jane", "text")})
        chains.add(session, world.free_text, K.OPENED, opened)
        chains.add(session, world.free_text, K.PAUSED,
                   {"actor": "agent#0", "reason": "Jane is on holiday in Paris until Monday"})
        batch1 = _anchor_pending(session, registry, 1)

        # Compensation through the real contract, on the anchored breach leaf.
        breach_row = session.exec(select(Milestone).where(Milestone.leaf == breach.leaf)).one()
        proof = [bytes.fromhex(p[2:]) for p in json.loads(breach_row.proof or "[]")]
        claim_id = f"{world.ticket}:first_response"
        expires = int(w3.eth.get_block("latest")["timestamp"]) + 90 * 24 * 3600
        issued = vouchers.issue(claim_hash(claim_id), customer_ref_bytes(ref_hash), 2000, expires,
                                bytes.fromhex(breach.leaf[2:]), proof, bytes.fromhex(batch1.root[2:]))
        session.add(Voucher(claim_id=claim_id, ticket_id=world.ticket, breach="first_response",
                            voucher_id=issued.voucher_id, amount=2000, currency="CNY", tx_hash=issued.tx_hash,
                            block_number=issued.block_number, claim_hash="0x" + claim_hash(claim_id).hex(),
                            customer_ref="0x" + customer_ref_bytes(ref_hash).hex(), expires_at=expires,
                            breach_leaf=breach.leaf, root=batch1.root, block_hash=issued.block_hash,
                            issued_at=datetime.now(UTC)))
        session.commit()
        chains.add(session, world.ticket, K.VOUCHER_ISSUED,
                   {"breach": "first_response", "voucher_id": str(issued.voucher_id), "amount": "2000",
                    "tx_hash": issued.tx_hash, "breach_leaf": breach.leaf})
        chains.add(session, world.ticket, K.FIRST_RESPONSE,
                   {"actor": "agent#0", "text_hash": salted_hash(SECRET, "Sorry for the wait", "text")})
        chains.add(session, world.ticket, K.RESOLVED,
                   {"resolution_code": "part_replaced", "root_cause": "supplier_part", "actor": "agent#0"})
        chains.add(session, world.other, K.RESOLVED,
                   {"resolution_code": "advice", "root_cause": "usage", "actor": "agent#1"})
        _anchor_pending(session, registry, 2)
        # Recorded but not anchored yet: the certificate stops before it.
        chains.add(session, world.ticket, K.CONFIRMED, {"rating": "5"})
    world.batches = [1, 2]
    return world


def anchor_pending(world: World) -> None:
    """Anchor whatever is pending as the next batch (the anchoring workflow's job, done by hand)."""
    w3 = Web3(Web3.HTTPProvider(world.rpc_url))
    registry = EvidenceRegistryClient(w3, world.deployment.registry, Account.from_key(DEV_PRIVATE_KEYS[1]))
    with Session(init_db(world.db_url)) as session:
        batch_no = max(world.batches) + 1
        _anchor_pending(session, registry, batch_no)
    world.batches.append(batch_no)


def copy_world(world: World, tmp: Path) -> World:
    """The same world with its own copy of the database (to tamper with)."""
    source = world.db_url.removeprefix("sqlite:///")
    target = tmp / "tampered.db"
    # The backup API copies committed WAL content too (a plain file copy might miss it).
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return World(db_url=f"sqlite:///{target}", var_dir=world.var_dir, rpc_url=world.rpc_url,
                 deployment=world.deployment, batches=list(world.batches))


def tamper(db_url: str, sql: str, *params: object) -> None:
    """Edit the read model behind the application's back (what an intruder with DB access does)."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        cur = conn.execute(sql, params)
        assert cur.rowcount == 1, f"tamper statement changed {cur.rowcount} rows"


def deploy_legacy(w3: Web3, name: str, *args: Any) -> str:
    """Deploy a contract of the release before batch format 2 and grant its role to the dev account."""
    artifact = load_artifact(LEGACY_ARTIFACTS[name])
    sender = TransactionSender(w3, Account.from_key(DEV_PRIVATE_KEYS[0]))
    receipt = sender.send(w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]).constructor(*args),
                          abi=artifact["abi"])
    assert receipt["contractAddress"] is not None
    address = Web3.to_checksum_address(receipt["contractAddress"])
    contract = w3.eth.contract(address=address, abi=artifact["abi"])
    role, holder = ("ANCHOR_ROLE", 1) if name == "EvidenceRegistry" else ("ISSUER_ROLE", 2)
    grantee = Account.from_key(DEV_PRIVATE_KEYS[holder]).address
    sender.send(contract.functions.grantRole(getattr(contract.functions, role)().call(), grantee),
                abi=artifact["abi"])
    return address


KINDS_TICKET = "T-KINDS-0001"
ALL_KINDS = sorted(v for k, v in vars(K).items() if k.isupper() and isinstance(v, str))
NOT_BREACHES = [k for k in ALL_KINDS if k != K.SLA_BREACH]
BATCH_NO = 1


@dataclass
class Evidence:
    """Vouchers really issued on milestones of every kind (tests/certificates/test_voucher_evidence.py)."""

    rpc_url: str
    deployment: Deployment
    milestones: list[Link]
    proofs: dict[str, list[str]]  # leaf -> proof
    batch: dict[str, Any]
    vouchers: dict[str, dict[str, Any]]  # milestone kind -> the voucher entry issued on its leaf


def build_kinds_evidence(rpc_url: str) -> Evidence:
    """One ticket with a milestone of every kind, one batch, a voucher issued on each leaf (legacy contracts)."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    deployer, anchorer, issuer, _ = (Account.from_key(k) for k in DEV_PRIVATE_KEYS)
    # Contracts of their own, so this batch numbering does not meet the shared world's.
    registry_address = deploy_legacy(w3, "EvidenceRegistry", deployer.address)
    voucher_address = deploy_legacy(w3, "CompensationVoucher", registry_address, deployer.address)
    deployment = Deployment(31337, registry_address, voucher_address, "", 0)
    at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    chain: list[Link] = []
    # "opened" first, as every chain starts; then one of each other kind.
    for i, kind in enumerate([K.OPENED, *[k for k in ALL_KINDS if k != K.OPENED]]):
        breach = kind == K.SLA_BREACH
        data = {"clock": "resolution", "target_seconds": "172800"} if breach else {"n": str(i)}
        chain.append(new_milestone(KINDS_TICKET, chain[-1] if chain else None, kind, at + timedelta(minutes=i), data))
    tree = build_tree([bytes.fromhex(m.leaf[2:]) for m in chain])
    proofs = {m.leaf: ["0x" + p.hex() for p in tree.proof(i)] for i, m in enumerate(chain)}
    receipt = EvidenceRegistryClient(w3, deployment.registry, anchorer).anchor(tree.root, len(chain),
                                                                              batch_id_for(BATCH_NO))
    batch = {"batch_no": BATCH_NO, "batch_id": "0x" + batch_id_for(BATCH_NO).hex(), "root": "0x" + tree.root.hex(),
             "leaf_count": len(chain), "tx_hash": receipt.tx_hash, "block_number": receipt.block_number,
             "block_hash": receipt.block_hash}
    vouchers_client = VoucherClient(w3, deployment.voucher, issuer)
    expires = int(w3.eth.get_block("latest")["timestamp"]) + 90 * 24 * 3600
    vouchers: dict[str, dict[str, Any]] = {}
    for m in chain:
        claim_id = f"{KINDS_TICKET}:{m.kind}"
        issued = vouchers_client.issue(claim_hash(claim_id), customer_ref_bytes("0x" + "ab" * 32), 500, expires,
                                       bytes.fromhex(m.leaf[2:]), [bytes.fromhex(p[2:]) for p in proofs[m.leaf]],
                                       tree.root)
        vouchers[m.kind] = {"voucher_id": issued.voucher_id, "breach": m.data.get("clock", m.kind),
                            "claim_id": claim_id, "amount": 500, "currency": "CNY", "tx_hash": issued.tx_hash,
                            "block_number": issued.block_number, "breach_leaf": m.leaf}
    return Evidence(rpc_url, deployment, chain, proofs, batch, vouchers)
