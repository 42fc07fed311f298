"""The redeem logic behind POST /vouchers/{id}/redeem, against a real Anvil (the route is tested over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.anchoring import AnchoringActivities
from activities.compensation import CompensationActivities
from contracts.anvil import AnvilProcess
from domain.evidence_types import AnchorBatchInput, PrepareBatchInput
from domain.tickets import VoucherRequest, VoucherResult
from readmodel import vouchers
from readmodel.db import session_scope
from services.vouchers import VoucherAlreadyRedeemed, VoucherNotFound, VoucherNotRedeemable, redeem_voucher
from tests.evidence.helpers import add_milestones, customer_ref, evidence_settings, new_chain, tx_count


class Rig:
    def __init__(self, tmp: Path, anvil: AnvilProcess) -> None:
        self.settings = evidence_settings(tmp, anvil.url)
        self.chain, _ = new_chain(self.settings)
        self.db_url = self.settings.db_url
        self.env = ActivityEnvironment()
        self.comp = CompensationActivities(self.db_url, self.chain, currency="CNY")
        anchoring = AnchoringActivities(self.db_url, self.chain, poll_interval=0.02)
        self.leaf = add_milestones(self.db_url, 2, last_kind="sla_breach")[-1].leaf
        self.env.run(anchoring.prepare_batch, PrepareBatchInput(1, 64, 0.0, 0.2))
        self.env.run(anchoring.anchor_batch, AnchorBatchInput(1))

    def issue(self, ticket_id: str, valid_seconds: int = 86400) -> VoucherResult:
        expires = int(self.chain.w3.eth.get_block("latest")["timestamp"]) + valid_seconds
        request = VoucherRequest(ticket_id=ticket_id, breach="resolution", claim_id=f"{ticket_id}:resolution",
                                 customer_ref_hash=customer_ref(), amount=2000, expires_at=expires, leaf=self.leaf)
        result: VoucherResult = self.env.run(self.comp.issue_voucher, request)
        return result

    def redeem(self, voucher_id: int, by: str = "agent#0"):  # type: ignore[no-untyped-def]
        with session_scope(self.db_url) as session:
            return redeem_voucher(session=session, chain=self.chain, voucher_id=voucher_id, redeemed_by=by)

    def redeemer_txs(self) -> int:
        return tx_count(self.chain.w3, self.chain.account("redeemer").address)


@pytest.fixture
def rig(tmp_path: Path, evidence_anvil: AnvilProcess) -> Rig:
    return Rig(tmp_path, evidence_anvil)


def test_redeem_once_then_conflict_naming_the_voucher(rig: Rig) -> None:
    voucher = rig.issue("T-redeem-1")
    before = rig.redeemer_txs()
    row = rig.redeem(voucher.voucher_id, by="merchant#5")
    assert row.redeemed and row.redeem_tx_hash and row.redeemed_by == "merchant#5"
    assert rig.chain.redeemer().voucher(voucher.voucher_id).redeemed
    with pytest.raises(VoucherAlreadyRedeemed) as err:
        rig.redeem(voucher.voucher_id)
    assert f"voucher {voucher.voucher_id} was already redeemed in transaction {row.redeem_tx_hash}" in str(err.value)
    assert rig.redeemer_txs() == before + 1
    with session_scope(rig.db_url) as session:
        [stored] = vouchers.vouchers_of_ticket(session=session, ticket_id="T-redeem-1")
        assert stored.redeemed and stored.redeemed_by == "merchant#5"


def test_unknown_voucher_is_not_found(rig: Rig) -> None:
    with pytest.raises(VoucherNotFound):
        rig.redeem(987654)


def test_redeemed_on_chain_but_not_recorded_is_recorded_and_refused(rig: Rig) -> None:
    voucher = rig.issue("T-redeem-2")
    # A redemption whose API call died after the transaction: the chain has it, the read model not.
    direct = rig.chain.redeemer().redeem(voucher.voucher_id)
    before = rig.redeemer_txs()
    with pytest.raises(VoucherAlreadyRedeemed) as err:
        rig.redeem(voucher.voucher_id)
    assert err.value.tx_hash == direct.tx_hash
    assert rig.redeemer_txs() == before
    with session_scope(rig.db_url) as session:
        row = vouchers.voucher_by_id(session=session, voucher_id=voucher.voucher_id)
        assert row is not None and row.redeemed and row.redeem_tx_hash == direct.tx_hash


def test_expired_voucher_is_not_redeemable(rig: Rig) -> None:
    voucher = rig.issue("T-redeem-3", valid_seconds=5)
    w3 = rig.chain.w3
    w3.provider.make_request("evm_increaseTime", [60])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    with pytest.raises(VoucherNotRedeemable) as err:
        rig.redeem(voucher.voucher_id)
    assert "expired" in err.value.reason and not err.value.temporary
    with session_scope(rig.db_url) as session:
        row = vouchers.voucher_by_id(session=session, voucher_id=voucher.voucher_id)
        assert row is not None and not row.redeemed
