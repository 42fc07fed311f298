"""The evidence read model on a real PostgreSQL (pgserver): concurrent claims never share a leaf."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.testing import ActivityEnvironment

from activities.anchoring import AnchoringActivities
from activities.compensation import CompensationActivities
from contracts.anvil import AnvilProcess
from domain.evidence_types import AnchorBatchInput, PrepareBatchInput
from domain.tickets import AnchorWait, VoucherRequest
from readmodel import evidence
from readmodel.db import get_engine, session_scope
from readmodel.models import AnchorBatch, Milestone
from tests.evidence.helpers import (
    add_milestones,
    all_milestones,
    customer_ref,
    evidence_settings,
    issued_events,
    new_chain,
)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    # Not under pytest's tmp dir: that is private to its user (0700), and pgserver run as root
    # starts PostgreSQL as its own unprivileged user, which must reach the data folder.
    folder = Path(tempfile.mkdtemp(prefix="qt-evidence-pg-"))
    folder.chmod(0o755)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

        server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A database of the test's own on the module's server."""
    name = f"qt_{uuid.uuid4().hex[:12]}"
    pg_server.psql(f"CREATE DATABASE {name};")
    return str(pg_server.get_uri(name)).replace("postgresql://", "postgresql+psycopg://", 1)


def test_concurrent_claims_and_the_whole_path_on_postgres(pg_url: str, tmp_path: Path,
                                                          evidence_anvil: AnvilProcess) -> None:
    settings = evidence_settings(tmp_path, evidence_anvil.url, database_url=pg_url)
    chain, _ = new_chain(settings)
    leaves = [m.leaf for m in add_milestones(settings.db_url, 150, last_kind="sla_breach")]

    def claim(batch_no: int) -> tuple[int, str]:
        with session_scope(settings.db_url) as session:
            batch = evidence.claim_batch(session=session, batch_no=batch_no, max_leaves=60)
            assert batch is not None
            return batch.leaf_count, batch.root

    order = [1, 2, 1, 3, 2, 1]
    with ThreadPoolExecutor(len(order)) as pool:
        results = list(pool.map(claim, order))
    for n in (1, 2, 3):  # every attempt at one batch number got the same batch
        assert len({r for o, r in zip(order, results, strict=True) if o == n}) == 1
    counts = {o: r[0] for o, r in zip(order, results, strict=True)}
    rows = all_milestones(settings.db_url)
    for n, count in counts.items():  # a leaf is in one batch at most; no batch over the bound
        assert 0 < count <= 60 and sum(1 for r in rows if r.batch_no == n) == count
    claimed = sum(counts.values())
    n = 3
    while claimed < 150:  # the rest, one batch after another as the workflow would
        n += 1
        claimed += claim(n)[0]
    assert claimed == 150 == sum(1 for r in all_milestones(settings.db_url) if r.batch_no is not None)

    env = ActivityEnvironment()
    anchoring = AnchoringActivities(settings.db_url, chain)
    for batch_no in range(1, n + 1):
        env.run(anchoring.prepare_batch, PrepareBatchInput(batch_no, 60, 0.0, 0.1))
        assert env.run(anchoring.anchor_batch, AnchorBatchInput(batch_no)).sent
    comp = CompensationActivities(settings.db_url, chain)
    anchored = env.run(comp.wait_for_anchor, AnchorWait(leaf=leaves[-1]))
    request = VoucherRequest(ticket_id="T-pg", breach="first_response", claim_id="T-pg:first_response",
                             customer_ref_hash=customer_ref(), amount=300, expires_at=int(time.time()) + 3600,
                             leaf=anchored.leaf)
    first = env.run(comp.issue_voucher, request)
    assert env.run(comp.issue_voucher, request) == first
    assert issued_events(chain, request.claim_id) == 1


def test_a_claim_that_finds_every_row_taken_by_its_own_batch_number_returns_that_batch(
        pg_url: str, tmp_path: Path, evidence_anvil: AnvilProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    # A retried attempt at batch 1 runs while the first attempt holds every pending row; the
    # first commits between the retry's empty claim and its count of what is left.
    settings = evidence_settings(tmp_path, evidence_anvil.url, database_url=pg_url)
    add_milestones(settings.db_url, 40)
    holder = Session(get_engine(settings.db_url))
    locked = holder.exec(select(Milestone.id).where(col(Milestone.batch_no).is_(None)).with_for_update()).all()
    assert len(locked) == 40
    real_count = evidence.pending_stats

    def count_after_the_first_attempt_commits(*, session: Session) -> tuple[int, str | None]:
        holder.rollback()  # its locks go; the first attempt's claim stands in for its commit
        with session_scope(settings.db_url) as first:
            assert evidence.claim_batch(session=first, batch_no=1, max_leaves=60) is not None
        return real_count(session=session)

    monkeypatch.setattr(evidence, "pending_stats", count_after_the_first_attempt_commits)
    with session_scope(settings.db_url) as session:
        retried = evidence.claim_batch(session=session, batch_no=1, max_leaves=60)
        assert retried is not None and (retried.batch_no, retried.leaf_count) == (1, 40)
    holder.close()
    with session_scope(settings.db_url) as session:
        assert session.exec(select(func.count()).select_from(AnchorBatch)).one() == 1
