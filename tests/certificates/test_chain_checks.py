"""The on-chain checks (certificates/verify.py) against a real Anvil: what a verifier is told, and why.

The genuine certificate of the shared world passes; each test then changes what a forger or a
broken server could change in the certificate (or points the verifier at another node or other
contracts) and asserts the check that fails and the words the verifier reads. ``verify_on_chain``
is called directly where the offline checks would fail first (an edited certificate is not
re-signed): the on-chain checks must hold on their own.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlmodel import Session
from web3 import Web3

from certificates.issue import build_certificate, signer_for
from certificates.verify import verify_certificate, verify_on_chain
from chain.deployment import Deployment, deploy_contracts
from chain.keys import DEV_PRIVATE_KEYS
from chain.rpc import connect
from chain.voucher import VoucherClient
from contracts.anvil import free_port
from domain.certificate import sign_certificate
from domain.certificate_checks import Check, CheckStatus
from domain.evidence_types import batch_id_for
from domain.milestones import MilestoneKind as K
from readmodel.db import get_engine, init_db
from tests.certificates.world import OTHER_KEY, SIGNER, World, _Chains, anchor_pending, copy_world, deploy_legacy

Cert = dict[str, Any]


def _cert(world: World, ticket_id: str | None = None) -> Cert:
    with Session(get_engine(world.db_url)) as session:
        return build_certificate(session=session, ticket_id=ticket_id or world.ticket,
                                 signer=signer_for(world.settings()))


@pytest.fixture(scope="module")
def genuine(world: World) -> Cert:
    return _cert(world)


@pytest.fixture(scope="module")
def w3(world: World) -> Web3:
    return connect(world.rpc_url)


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


@contextmanager
def _undone(w3: Web3) -> Iterator[None]:
    """Whatever the block writes to the chain is reverted afterwards (the world is shared)."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield
    finally:
        assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]


def _when(w3: Web3, block_number: int) -> str:
    stamp = int(w3.eth.get_block(block_number)["timestamp"])
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


TITLES = ["Connected to the right blockchain", "Genuine Qualitrail contracts", "Recorded on the blockchain",
          "Compensation vouchers"]


def test_a_genuine_certificate_passes_and_each_check_says_what_it_saw(world: World, genuine: Cert,
                                                                       w3: Web3) -> None:
    head = w3.eth.block_number
    checks = verify_on_chain(genuine, w3)
    assert [c.name for c in checks] == ["network", "contracts", "root_on_chain", "voucher"]
    assert all(c.status == CheckStatus.PASS for c in checks), checks
    assert [c.title for c in checks] == TITLES
    network, contracts, roots, voucher = checks
    assert network.summary == f"The node serves chain 31337, the certificate's chain; its newest block is {head}."
    assert contracts.summary == (f"The registry {world.deployment.registry} and the voucher contract "
                                 f"{world.deployment.voucher} run the published code.")
    lines = []
    for batch in genuine["batches"]:
        n, block = batch["batch_no"], batch["block_number"]
        confirmations = head - block + 1
        lines.append(f"batch {n}: root {batch['root'][:18]}… anchored in block {block} on {_when(w3, block)}, "
                     f"{confirmations} confirmation{'s' if confirmations != 1 else ''}")
    assert roots.details == tuple(lines)
    least = head - max(b["block_number"] for b in genuine["batches"]) + 1
    assert roots.summary == (f"All 2 Merkle roots are anchored in the stated blocks (each with at least {least} "
                             f"confirmation{'s' if least != 1 else ''}), and the registry accepts every proof.")
    assert voucher.summary == "1 voucher issued on chain against the anchored breach evidence."
    assert voucher.details == ("voucher #1 (first_response): worth CN¥20.00, valid, not yet redeemed",)


def test_a_certificate_for_another_chain_is_refused_before_anything_else_is_asked(genuine: Cert,
                                                                                   w3: Web3) -> None:
    checks = verify_on_chain({**genuine, "chain_id": 1}, w3)
    assert len(checks) == 1 and checks[0].name == "network" and checks[0].status == CheckStatus.FAIL
    assert checks[0].summary == "The node serves chain 31337, but the certificate is for chain 1."
    assert checks[0].title == TITLES[0]


def test_a_node_that_does_not_answer_fails_the_network_check_only(genuine: Cert) -> None:
    checks = verify_on_chain(genuine, connect(f"http://127.0.0.1:{free_port()}", timeout=5))
    assert [(c.name, c.status) for c in checks] == [("network", CheckStatus.FAIL)]
    assert checks[0].summary.startswith("The blockchain node could not be reached, so nothing could be checked")
    assert checks[0].title == TITLES[0]


def test_a_node_failing_mid_way_fails_a_check_of_its_own(genuine: Cert, w3: Web3) -> None:
    # A block number no node can serve: the node answers with an error where a block was expected.
    cert = copy.deepcopy(genuine)
    cert["batches"][0]["block_number"] = 2**64
    checks = _by_name(verify_on_chain(cert, w3))
    assert checks["network"].status == CheckStatus.PASS and checks["contracts"].status == CheckStatus.PASS
    error = checks["chain_error"]
    assert error.status == CheckStatus.FAIL and error.title == "Blockchain answered every question"
    assert error.summary.startswith("The node failed while checking: RuntimeError: eth_getBlockByNumber failed")


@pytest.fixture(scope="module")
def other_contracts(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Deployment, str]:
    """A second deployment of the current contracts, and a registry of the earlier release."""
    w3 = Web3(Web3.HTTPProvider(world.rpc_url))
    deployer, anchorer, issuer, redeemer = (Account.from_key(k) for k in DEV_PRIVATE_KEYS)
    second = deploy_contracts(w3, deployer, anchorer=anchorer.address, issuer=issuer.address,
                              redeemer=redeemer.address, record_dir=tmp_path_factory.mktemp("second"))
    return second, deploy_legacy(w3, "EvidenceRegistry", deployer.address)


def _contract_problems(cert: Cert, w3: Web3, **kwargs: Any) -> tuple[str, ...]:
    checks = verify_on_chain(cert, w3, **kwargs)
    # Answers from contracts that are not the published ones mean nothing: nothing more is reported.
    assert [c.name for c in checks] == ["network", "contracts"], checks
    contracts = checks[1]
    assert contracts.status == CheckStatus.FAIL and contracts.title == TITLES[1]
    assert contracts.summary == "The contracts named in the certificate are not the published Qualitrail contracts."
    return contracts.details


def test_contracts_that_are_not_the_published_ones_are_named(world: World, genuine: Cert, w3: Web3,
                                                            other_contracts: tuple[Deployment, str]) -> None:
    registry = world.deployment.registry
    second, legacy_registry = other_contracts
    # No code at all (an account), then the registry's code where the voucher contract should be.
    assert _contract_problems({**genuine, "registry": SIGNER}, w3) == (
        f"the code at {SIGNER} is not the published EvidenceRegistry",
        f"the voucher contract is bound to registry {registry}, not {SIGNER}")
    assert _contract_problems({**genuine, "voucher_contract": registry}, w3) == (
        f"the code at {registry} is not the published CompensationVoucher",)
    assert _contract_problems({**genuine, "registry": legacy_registry}, w3) == (
        "the registry (v1) and the voucher contract (current) are from different releases",)
    # Both published, but the voucher contract answers to another registry.
    assert _contract_problems({**genuine, "registry": second.registry}, w3) == (
        f"the voucher contract is bound to registry {registry}, not {second.registry}",)
    assert _contract_problems({**genuine, "voucher_contract": second.voucher}, w3) == (
        f"the voucher contract is bound to registry {second.registry}, not {registry}",)


def test_only_the_trusted_registry_passes_in_any_letter_case(world: World, genuine: Cert, w3: Web3) -> None:
    registry = world.deployment.registry
    for trusted in (registry, registry.lower(), registry.upper().replace("0X", "0x")):
        assert _by_name(verify_on_chain(genuine, w3, trusted_registry=trusted))["contracts"].status == "pass"
    trusted = world.deployment.voucher
    assert _contract_problems(genuine, w3, trusted_registry=trusted) == (
        f"the certificate names registry {registry}, not the one you trust ({trusted})",)


def _root_problems(cert: Cert, w3: Web3, **kwargs: Any) -> tuple[str, ...]:
    checks = _by_name(verify_on_chain(cert, w3, **kwargs))
    assert checks["network"].status == CheckStatus.PASS and checks["contracts"].status == CheckStatus.PASS
    roots = checks["root_on_chain"]
    assert roots.status == CheckStatus.FAIL and roots.title == TITLES[2], roots
    assert roots.summary == "Some of the certificate's evidence is not on this chain as stated."
    return roots.details


def _rejected(cert: Cert, *batch_nos: int) -> list[str]:
    return [f"milestone {m['seq']} ({m['kind']}): the registry rejects its proof" for m in cert["milestones"]
            if m["batch_no"] in batch_nos]


def test_a_root_not_anchored_is_named_with_every_proof_the_registry_rejects(genuine: Cert, w3: Web3) -> None:
    cert = copy.deepcopy(genuine)
    roots = []
    for batch in cert["batches"]:
        batch["root"] = "0x" + f"{batch['batch_no']:02x}" * 32
        roots.append(f"batch {batch['batch_no']}: its root {batch['root']} is not anchored on this chain")
    assert _root_problems(cert, w3) == (*roots, *_rejected(cert, 1, 2))


Edit = Callable[[Cert, dict[str, Any]], str]


def _other_batch_id(cert: Cert, batch: dict[str, Any]) -> str:
    batch["batch_id"] = "0x" + batch_id_for(batch["batch_no"] + 10).hex()
    return f"batch {batch['batch_no']}: the chain anchored this root for another batch or leaf count"


def _other_leaf_count(cert: Cert, batch: dict[str, Any]) -> str:
    batch["leaf_count"] += 1
    return f"batch {batch['batch_no']}: the chain anchored this root for another batch or leaf count"


def _other_block(cert: Cert, batch: dict[str, Any]) -> str:
    block = batch["block_number"]
    batch["block_number"] = block + 1
    return f"batch {batch['batch_no']}: anchored in block {block} on this chain, the certificate says block {block + 1}"


def _rewritten_block(cert: Cert, batch: dict[str, Any]) -> str:
    batch["block_hash"] = "0x" + "ee" * 32
    return (f"batch {batch['batch_no']}: block {batch['block_number']} is no longer the block the certificate "
            "names (the chain was rewritten)")


def _transaction_elsewhere(cert: Cert, batch: dict[str, Any]) -> str:
    # The other batch's anchoring transaction: real, successful, in another block.
    other = next(b for b in cert["batches"] if b is not batch)
    batch["tx_hash"] = other["tx_hash"] if batch["batch_no"] == 1 else "0x" + "12" * 32
    return f"batch {batch['batch_no']}: anchoring transaction {batch['tx_hash']} is not in that block"


@pytest.mark.parametrize("edit", [_other_batch_id, _other_leaf_count, _other_block, _rewritten_block,
                                  _transaction_elsewhere], ids=lambda f: f.__name__.strip("_"))
def test_a_batch_not_on_chain_as_stated_is_named_for_every_batch(genuine: Cert, w3: Web3, edit: Edit) -> None:
    cert = copy.deepcopy(genuine)
    # The edit is made on every batch: each is checked, not only the first that fails.
    expected = [edit(cert, batch) for batch in cert["batches"]]
    assert _root_problems(cert, w3) == tuple(expected)


def test_a_proof_or_kind_the_registry_rejects_is_named(genuine: Cert, w3: Web3) -> None:
    cert = copy.deepcopy(genuine)
    cert["milestones"][1]["proof"][0] = "0x" + "ab" * 32
    cert["milestones"][5]["kind"] = "reopened"  # format 2 leaves commit to the kind
    assert _root_problems(cert, w3) == ("milestone 1 (sla_warning): the registry rejects its proof",
                                        "milestone 5 (reopened): the registry rejects its proof")


def test_confirmations_are_counted_from_the_anchoring_block_and_required(world: World, genuine: Cert, w3: Web3,
                                                                       tmp_path: Path) -> None:
    head = w3.eth.block_number
    newest = max(b["block_number"] for b in genuine["batches"])
    enough = head - newest + 1
    assert _by_name(verify_on_chain(genuine, w3, min_confirmations=enough))["root_on_chain"].status == "pass"
    problems = _root_problems(genuine, w3, min_confirmations=enough + 1)
    expected = [f"batch {b['batch_no']}: only {head - b['block_number'] + 1} confirmations, {enough + 1} required"
                for b in genuine["batches"] if head - b["block_number"] + 1 < enough + 1]
    assert problems == tuple(expected) and expected
    # Every batch short of confirmations is named, whichever comes first.
    oldest = min(b["block_number"] for b in genuine["batches"])
    required = head - oldest + 2
    both = [f"batch {b['batch_no']}: only {head - b['block_number'] + 1} confirmations, {required} required"
            for b in genuine["batches"]]
    assert _root_problems(genuine, w3, min_confirmations=required) == tuple(both)
    # The least confirmed batch sets the summary's number, in whatever order the batches are listed.
    reversed_batches = {**genuine, "batches": genuine["batches"][::-1]}
    assert f"(each with at least {enough} confirmation" in _by_name(
        verify_on_chain(reversed_batches, w3))["root_on_chain"].summary

    # A batch anchored in the newest block has exactly one confirmation (a copy of the record, with a
    # milestone and a batch number of its own: test_certificate.py anchors batch 3 from its copy).
    with _undone(w3):
        mine = copy_world(world, tmp_path)
        mine.batches.append(6)
        with Session(init_db(mine.db_url)) as session:
            _Chains().add(session, "T-CHAIN-CHECKS", K.OPENED, {"n": "1"})
        anchor_pending(mine)
        newer = _cert(mine)
        roots = _by_name(verify_on_chain(newer, w3))["root_on_chain"]
        assert roots.status == CheckStatus.PASS
        assert roots.details[-1].endswith(", 1 confirmation")
        assert "(each with at least 1 confirmation)" in roots.summary
        assert _root_problems(newer, w3, min_confirmations=2) == ("batch 7: only 1 confirmations, 2 required",)
        # The full verification asks for one confirmation unless told otherwise, and passes the number on.
        assert all(c.status == CheckStatus.PASS for c in verify_certificate(newer, w3=w3, trusted_signer=SIGNER))
        full = _by_name(verify_certificate(newer, w3=w3, trusted_signer=SIGNER, min_confirmations=2))
        assert full["root_on_chain"].details == ("batch 7: only 1 confirmations, 2 required",)


def _voucher(cert: Cert, w3: Web3) -> Check:
    checks = _by_name(verify_on_chain(cert, w3))
    assert all(checks[n].status == CheckStatus.PASS for n in ("network", "contracts")), checks
    assert checks["voucher"].title == TITLES[3]
    return checks["voucher"]


VALID = "voucher #1 (first_response): worth CN¥20.00, valid, not yet redeemed"
UNLISTED = ("voucher #1 (first_response) was issued on chain but is not listed in this certificate (probably "
            "issued after it)")


@pytest.mark.parametrize(("field", "value", "problem", "with_state"), [
    ("claim_id", "T-CERT-0002:first_response", "its claim T-CERT-0002:first_response is not about this ticket", False),
    ("claim_id", "T-CERT-00010:first_response", "its claim T-CERT-00010:first_response is not about this ticket",
     False),
    ("claim_id", "T-CERT-0001:resolution", "the chain issued it for another claim", True),
    ("voucher_id", 7, "no such voucher on this chain", None),
    ("amount", 3000, "worth CN¥20.00 on chain, the certificate says CN¥30.00", True),
    ("tx_hash", "0x" + "12" * 32, "issuing transaction 0x" + "12" * 32 + " is not on this chain", True),
])
def test_a_voucher_not_on_chain_as_stated_is_named(genuine: Cert, w3: Web3, field: str, value: Any, problem: str,
                                                   with_state: bool | None) -> None:
    cert = copy.deepcopy(genuine)
    cert["vouchers"][0][field] = value
    voucher = _voucher(cert, w3)
    assert voucher.status == CheckStatus.FAIL
    assert voucher.summary == "Some vouchers are not on this chain as the certificate states."
    label = f"voucher #{cert['vouchers'][0]['voucher_id']} (first_response)"
    # The state line follows the problems when the voucher could be read; the real voucher #1, not
    # listed under its own id any more, is reported as missing from the certificate.
    state = [VALID] if with_state else [] if with_state is False else [UNLISTED]
    assert voucher.details == (f"{label}: {problem}", *state)


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("claim_id", "T-CERT-0002:first_response", "its claim T-CERT-0002:first_response is not about this ticket"),
    ("breach_leaf", "0x" + "cd" * 32, "it does not rest on an SLA-breach milestone of this certificate"),
    ("voucher_id", 7, "no such voucher on this chain"),
])
def test_every_voucher_is_checked_after_one_that_fails(genuine: Cert, w3: Web3, field: str, value: Any,
                                                       problem: str) -> None:
    cert = copy.deepcopy(genuine)
    bad = {**cert["vouchers"][0], field: value}
    cert["vouchers"] = [bad, cert["vouchers"][0]]
    voucher = _voucher(cert, w3)
    assert voucher.status == CheckStatus.FAIL
    assert voucher.details == (f"voucher #{bad['voucher_id']} (first_response): {problem}", VALID)


def test_a_voucher_expires_at_its_expiry_time_on_chain(world: World, genuine: Cert, w3: Web3) -> None:
    expires = VoucherClient(w3, world.deployment.voucher, Account.from_key(DEV_PRIVATE_KEYS[2])).voucher(1).expires_at
    for at, state in ((expires - 1, "valid, not yet redeemed"), (expires, "expired unredeemed")):
        with _undone(w3):  # the chain's clock and blocks go back afterwards
            w3.provider.make_request("evm_setNextBlockTimestamp", [at])  # type: ignore[arg-type]
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            voucher = _voucher(genuine, w3)
            assert voucher.status == CheckStatus.PASS
            assert voucher.details == (f"voucher #1 (first_response): worth CN¥20.00, {state}",)


def test_a_voucher_backed_by_other_evidence_is_named(genuine: Cert, w3: Web3) -> None:
    # The certificate says its breach milestone is in batch 2: the chain backs the voucher with batch 1's root.
    cert = copy.deepcopy(genuine)
    breach = next(m for m in cert["milestones"] if m["kind"] == "sla_breach")
    breach["batch_no"] = 2
    voucher = _voucher(cert, w3)
    assert voucher.status == CheckStatus.FAIL
    assert voucher.details == ("voucher #1 (first_response): the chain backs it with other evidence", VALID)


def test_a_voucher_missing_from_the_certificate_is_reported_without_failing(world: World, genuine: Cert,
                                                                           w3: Web3) -> None:
    voucher = _voucher({**genuine, "vouchers": []}, w3)
    assert voucher.status == CheckStatus.PASS and voucher.summary == "No voucher is listed for this ticket."
    assert voucher.details == (UNLISTED,)
    clean = _voucher(_cert(world, world.other), w3)
    assert clean.status == CheckStatus.PASS and clean.summary == "No SLA was missed, so no voucher was due."
    assert clean.details == ()


def test_a_redeemed_voucher_is_reported_as_redeemed(world: World, genuine: Cert, w3: Web3) -> None:
    with _undone(w3):  # the other tests see the voucher unredeemed
        VoucherClient(w3, world.deployment.voucher, Account.from_key(DEV_PRIVATE_KEYS[3])).redeem(1)
        voucher = _voucher(genuine, w3)
        assert voucher.status == CheckStatus.PASS
        assert voucher.details == ("voucher #1 (first_response): worth CN¥20.00, redeemed",)


def test_the_full_verification_skips_the_chain_when_told_or_when_a_check_failed(genuine: Cert, w3: Web3) -> None:
    offline = verify_certificate(genuine, w3=None, trusted_signer=SIGNER)
    assert [c.name for c in offline][-1] == "root_on_chain"
    assert offline[-1].status == CheckStatus.SKIP and offline[-1].title == "Recorded on the blockchain"
    assert offline[-1].summary == "Not checked: no blockchain node was given."
    # The QR code's digest is checked too.
    qr = verify_certificate(genuine, w3=None, trusted_signer=SIGNER, expected_digest="0x" + "11" * 32)
    assert [(c.name, c.status) for c in qr][0] == ("qr", "fail")
    # A certificate that passes every offline check goes on to the chain, stop_at_failure or not.
    passed = verify_certificate(genuine, w3=w3, trusted_signer=SIGNER, stop_at_failure=True)
    assert [c.name for c in passed][-4:] == ["network", "contracts", "root_on_chain", "voucher"]
    assert all(c.status == CheckStatus.PASS for c in passed), passed
    # The registry the verifier trusts is passed on to the chain checks.
    untrusted = _by_name(verify_certificate(genuine, w3=w3, trusted_signer=SIGNER,
                                            trusted_registry=str(genuine["voucher_contract"])))
    assert untrusted["contracts"].status == CheckStatus.FAIL
    forged = sign_certificate(genuine, OTHER_KEY)
    stopped = verify_certificate(forged, w3=w3, trusted_signer=SIGNER, stop_at_failure=True)
    assert [(c.name, c.status) for c in stopped] == [("digest", "pass"), ("signature", "fail"),
                                                      ("root_on_chain", "skip")]
    assert stopped[-1].summary == "Not checked: the certificate already failed a check above."
    assert stopped[-1].title == "Recorded on the blockchain"
    # Without stop_at_failure the chain is still asked, so the verifier sees every problem.
    full = verify_certificate(forged, w3=w3, trusted_signer=SIGNER)
    assert [c.name for c in full][-4:] == ["network", "contracts", "root_on_chain", "voucher"]
    malformed = verify_certificate({"format": "x"}, w3=w3)
    assert [c.name for c in malformed] == ["format"]


def test_anchoring_times_are_utc_whatever_the_verifiers_time_zone(genuine: Cert, w3: Web3,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _by_name(verify_on_chain(genuine, w3))["root_on_chain"].details
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert _by_name(verify_on_chain(genuine, w3))["root_on_chain"].details == expected
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_withheld_breach_milestone_is_still_checked_on_chain(genuine: Cert, w3: Web3) -> None:
    # The on-chain checks need no milestone data: a breach whose details are withheld still passes.
    cert = copy.deepcopy(genuine)
    breach = next(m for m in cert["milestones"] if m["kind"] == "sla_breach")
    del breach["data"]
    breach["withheld"] = True
    checks = verify_on_chain(cert, w3)
    assert [(c.name, c.status) for c in checks] == [(n, "pass") for n in ("network", "contracts", "root_on_chain",
                                                                            "voucher")]


def test_only_breach_clocks_are_looked_up_for_vouchers_missing_from_the_certificate(genuine: Cert,
                                                                                      w3: Web3) -> None:
    # The breach is on the resolution clock (no voucher on chain for it); the warning before it is on the
    # first-response clock, whose claim does hold voucher #1. A warning is no breach: nothing is reported.
    cert = copy.deepcopy({**genuine, "vouchers": []})
    breach = next(m for m in cert["milestones"] if m["kind"] == "sla_breach")
    breach["data"] = {**breach["data"], "clock": "resolution"}
    assert any(m["kind"] == "sla_warning" and m["data"]["clock"] == "first_response" for m in cert["milestones"])
    voucher = _voucher(cert, w3)
    assert voucher.status == CheckStatus.PASS and voucher.details == ()
