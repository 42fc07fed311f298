"""Helpers of the evidence tests: settings for a temp read model + Anvil, milestones, chain counts."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr
from sqlmodel import select
from web3 import Web3

from chain.context import ChainContext
from chain.deployment import Deployment
from contracts.anvil import AnvilProcess
from domain.evidence_types import batch_id_for, claim_hash
from domain.milestones import Milestone as DomainMilestone
from domain.milestones import format_time, new_milestone
from domain.tickets import MilestoneView
from readmodel import crud
from readmodel.db import init_db, session_scope
from readmodel.models import Milestone
from settings import Settings

T = TypeVar("T")


def evidence_settings(tmp: Path, rpc_url: str, **overrides: Any) -> Settings:
    """Settings of one test: its own read model and deployment folder, dev keys, no .env file."""
    values: dict[str, Any] = {
        "var_dir": tmp, "database_url": f"sqlite:///{tmp / 'readmodel.db'}", "rpc_url": rpc_url,
        "anchor_batch_size": 64, "anchor_batch_seconds": 0.5, "chain_confirmations": 0,
        "deployer_key": SecretStr(""), "anchor_key": SecretStr(""), "issuer_key": SecretStr(""),
        "redeemer_key": SecretStr(""), "signer_key": SecretStr(""),
    }
    values.update(overrides)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    init_db(settings.db_url)
    return settings


def new_chain(settings: Settings) -> tuple[ChainContext, Deployment]:
    """A chain context with contracts of its own (batch numbers restart at 1 in each test)."""
    chain = ChainContext(settings)
    return chain, chain.deployment()


def add_milestones(db_url: str, count: int, *, subject: str | None = None,
                   at: datetime | None = None, last_kind: str = "note_added") -> list[MilestoneView]:
    """Persist ``count`` chained milestones of one subject, as the ticket workflow would.

    ``last_kind="sla_breach"`` makes the last one evidence a voucher can rest on.
    """
    subject = subject or f"T-{uuid.uuid4().hex[:10]}"
    at = at or datetime.now(UTC)
    previous: DomainMilestone | None = None
    views: list[MilestoneView] = []
    for i in range(count):
        kind = last_kind if i == count - 1 else "note_added"
        m = new_milestone(subject, previous, kind, at + timedelta(microseconds=i), {"n": str(i)})
        previous = m
        views.append(MilestoneView(seq=m.seq, kind=m.kind, at=format_time(m.at), data=m.data, prev=m.prev,
                                   leaf=m.leaf))
    with session_scope(db_url) as session:
        crud.append_milestones(session=session, subject=subject, milestones=views)
        session.commit()
    return views


def all_milestones(db_url: str) -> list[Milestone]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Milestone).order_by(Milestone.id)))  # type: ignore[arg-type]


def tx_count(w3: Web3, address: str) -> int:
    """Transactions an account has sent: counts sends, whatever they did."""
    return int(w3.eth.get_transaction_count(Web3.to_checksum_address(address), "latest"))


def anchored_events(chain: ChainContext, batch_no: int) -> int:
    logs = chain.registry_reader().contract.events.RootAnchored.get_logs(
        argument_filters={"batchId": batch_id_for(batch_no)}, from_block=chain.deployment().block_number,
        to_block="latest")
    return len(list(logs))


def issued_events(chain: ChainContext, claim_id: str) -> int:
    logs = chain.issuer().contract.events.VoucherIssued.get_logs(
        argument_filters={"claimId": claim_hash(claim_id)}, from_block=chain.deployment().block_number,
        to_block="latest")
    return len(list(logs))


def customer_ref() -> str:
    return "0x" + os.urandom(32).hex()


def restart_anvil(node: AnvilProcess, *, state_from: Path | None = None,
                  snapshot_to: Path | None = None) -> AnvilProcess:
    """Stop ``node`` gracefully (it dumps its state) and start it again on the same port.

    Args:
        node: A node started with a ``--state`` file.
        state_from: Start from this older dump instead: to everything that recorded a later
            block, that is a chain reorganisation.
        snapshot_to: Copy the dump here while the node is down (a consistent file).
    """
    from contracts.anvil import start_anvil

    assert node.state_path is not None
    node.stop()
    if snapshot_to is not None:
        snapshot_to.write_bytes(node.state_path.read_bytes())
    if state_from is not None:
        node.state_path.write_bytes(state_from.read_bytes())
    return start_anvil(node.port, state_path=node.state_path)


async def assert_eventually(fn: Callable[[], Awaitable[T]], *, within: float = 10.0, interval: float = 0.1) -> T:
    """Retry an async assertion until it passes or ``within`` seconds have gone by."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await fn()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)
