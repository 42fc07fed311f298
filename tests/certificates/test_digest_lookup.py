"""The QR digest lookup is linear in the ticket's length (issue 12, item 3).

``find_certificate`` looks for the extent of the record whose certificate has the QR code's digest.
It used to build and encode every extent's body (quadratic Python work, 1.2 s for 182 steps, for any
digest sent to a public route); now each milestone is encoded once. Work is counted, not timed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import certificates.issue as issue
from certificates.issue import CertificateSigner, find_certificate
from domain.certificate import certificate_digest
from readmodel.evidence import ANCHORED, TicketRecord
from readmodel.models import AnchorBatch, Milestone, Voucher

SIGNER = CertificateSigner(31337, "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "01" * 32)


def _hex(n: int) -> str:
    return "0x" + f"{n:064x}"


def _record(length: int, per_batch: int = 7, later_from: int | None = None) -> TicketRecord:
    """A ticket of ``length`` anchored steps in batches of ``per_batch``, with one voucher midway;
    batches from number ``later_from`` on are of batch format 2 (an upgrade in the ticket's life)."""
    milestones, batches = [], {}
    for seq in range(length):
        batch_no = seq // per_batch + 1
        kind, data = ("voucher_issued", {"voucher_id": "5", "breach_leaf": _hex(99)}) if seq == length // 2 \
            else ("note_added", {"actor": "agent#0"})
        milestones.append(Milestone(subject="T-long", seq=seq, kind=kind, at=f"2026-01-01T00:{seq // 60:02d}:"
                                    f"{seq % 60:02d}.000000Z", prev=_hex(seq), leaf=_hex(10_000 + seq),
                                    data=json.dumps(data), batch_no=batch_no, proof=json.dumps([_hex(seq)] * 3)))
        batches[batch_no] = AnchorBatch(batch_no=batch_no, batch_id=_hex(500 + batch_no), root=_hex(900 + batch_no),
                                        leaf_count=per_batch, status=ANCHORED, tx_hash=_hex(700 + batch_no),
                                        block_number=batch_no, block_hash=_hex(800 + batch_no),
                                        created_at=datetime.now(UTC),
                                        format=2 if later_from is not None and batch_no >= later_from else 1)
    voucher = Voucher(claim_id="T-long:resolution", ticket_id="T-long", breach="resolution", voucher_id=5,
                      amount=2000, currency="CNY", tx_hash=_hex(5), block_number=3)
    return TicketRecord(milestones=milestones, batches=batches, vouchers={5: voucher})


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts milestone encodings, the unit of work that grew with the square of the length."""
    calls = [0]
    encode = issue._milestone_entry

    def counting(m: Milestone) -> dict[str, Any]:
        calls[0] += 1
        return encode(m)

    monkeypatch.setattr(issue, "_milestone_entry", counting)
    return calls


def _use(monkeypatch: pytest.MonkeyPatch, record: TicketRecord) -> None:
    monkeypatch.setattr(issue.evidence, "ticket_record", lambda **_: record)


@pytest.mark.parametrize("later_from", [None, 2], ids=["format 1", "formats 1 and 2"])
@pytest.mark.parametrize("length", [1, 30, 182])
def test_each_extent_has_the_digest_of_its_certificate(monkeypatch: pytest.MonkeyPatch, length: int,
                                                       later_from: int | None) -> None:
    record = _record(length, later_from=later_from)
    _use(monkeypatch, record)
    for extent in (length, length // 2 + 1, length // 2, 8, 7, 1):
        if not 1 <= extent <= length:
            continue
        wanted = certificate_digest(issue._body("T-long", record, extent, SIGNER))
        found = find_certificate(session=None, ticket_id="T-long", signer=SIGNER, digest=wanted)  # type: ignore[arg-type]
        assert found is not None and certificate_digest(found[0]) == wanted and found[1] == length - extent


@pytest.mark.parametrize("length", [60, 182])
def test_an_unknown_digest_costs_work_linear_in_the_length(monkeypatch: pytest.MonkeyPatch, counted: list[int],
                                                           length: int) -> None:
    _use(monkeypatch, _record(length))
    assert find_certificate(session=None, ticket_id="T-long", signer=SIGNER, digest=_hex(1)) is None  # type: ignore[arg-type]
    assert counted[0] == length  # each milestone encoded once (was length * (length + 1) / 2)
