"""The offline certificate checks (domain/certificate.py), on certificates built from pure code.

No chain and no database: milestones from ``new_milestone``, a Merkle tree from ``build_tree``, a
batch with made-up chain coordinates (only the on-chain checks read those). Each test edits one
thing a forger or a broken server could change and names the check that must catch it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account

from domain.certificate import (
    CERTIFICATE_FORMAT,
    CertificateFormatError,
    canonical_json,
    certificate_body,
    certificate_digest,
    parse_certificate,
    recover_signer,
    sign_certificate,
)
from domain.certificate_checks import Check, CheckStatus, overall_verdict, verify_certificate_offline
from domain.evidence_types import batch_id_for
from domain.merkle import build_tree
from domain.milestones import GENESIS, MilestoneKind, format_time, new_milestone

KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
OPERATOR = Account.from_key(KEY).address
OTHER_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
VOUCHERS = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
TICKET = "T-RULES-1"


def _body(leaves: int = 5, batches: int = 2, ticket: str = TICKET) -> dict[str, Any]:
    at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    kinds = [MilestoneKind.OPENED, MilestoneKind.SLA_WARNING, MilestoneKind.SLA_BREACH, MilestoneKind.FIRST_RESPONSE,
             MilestoneKind.RESOLVED, MilestoneKind.CONFIRMED, MilestoneKind.NOTE_ADDED]
    chain = []
    for i in range(leaves):
        chain.append(new_milestone(ticket, chain[-1] if chain else None, kinds[i % len(kinds)],
                                   at + timedelta(minutes=i), {"n": str(i)}))
    # Milestones split over ``batches`` consecutive batches, each with its own tree.
    per = -(-leaves // batches)
    milestones, batch_entries = [], []
    for b in range(batches):
        part = chain[b * per:(b + 1) * per]
        tree = build_tree([bytes.fromhex(m.leaf[2:]) for m in part])
        batch_entries.append({"batch_no": b + 1, "batch_id": "0x" + batch_id_for(b + 1).hex(),
                              "root": "0x" + tree.root.hex(), "leaf_count": len(part),
                              "tx_hash": "0x" + f"{b + 1:064x}", "block_number": 10 + b,
                              "block_hash": "0x" + f"{b + 100:064x}"})
        for i, m in enumerate(part):
            milestones.append({"seq": m.seq, "kind": m.kind, "at": format_time(m.at), "prev": m.prev, "leaf": m.leaf,
                               "data": m.data, "batch_no": b + 1,
                               "proof": ["0x" + p.hex() for p in tree.proof(i)]})
    return {"format": CERTIFICATE_FORMAT, "ticket_id": ticket, "as_of": milestones[-1]["at"], "chain_id": 31337,
            "registry": REGISTRY, "voucher_contract": VOUCHERS, "signer": OPERATOR, "milestones": milestones,
            "batches": batch_entries,
            "vouchers": [{"voucher_id": 1, "breach": "first_response", "claim_id": f"{ticket}:first_response",
                          "amount": 500, "currency": "CNY", "tx_hash": "0x" + "ab" * 32, "block_number": 12,
                          "breach_leaf": milestones[min(2, leaves - 1)]["leaf"]}]}


def _cert(**kwargs: Any) -> dict[str, Any]:
    return sign_certificate(_body(**kwargs), KEY)


def _statuses(checks: list[Check]) -> dict[str, CheckStatus]:
    return {c.name: c.status for c in checks}


def _resigned(cert: dict[str, Any]) -> dict[str, Any]:
    """What a server signs when its database was edited: the edit, with a fresh digest and signature."""
    return sign_certificate(certificate_body(cert), KEY)


@pytest.mark.parametrize(("leaves", "batches"), [(1, 1), (2, 1), (3, 1), (5, 2), (7, 3), (8, 2)])
def test_a_genuine_certificate_passes_every_offline_check(leaves: int, batches: int) -> None:
    cert = _cert(leaves=leaves, batches=batches)
    checks = verify_certificate_offline(cert, trusted_signer=OPERATOR)
    assert [c.name for c in checks] == ["digest", "signature", "hash_chain", "inclusion"]
    assert all(c.status == CheckStatus.PASS for c in checks), checks
    assert f"All {leaves} milestones" in checks[2].summary
    assert f"Each of the {leaves} milestones" in checks[3].summary
    assert f"({batches} batch{'es' if batches != 1 else ''})" in checks[3].summary
    verdict = overall_verdict(checks)
    assert verdict.ok and verdict.headline == "Verified: every check passed." and verdict.failed == ()
    assert recover_signer(cert) == OPERATOR
    with_qr = verify_certificate_offline(cert, trusted_signer=OPERATOR, expected_digest=cert["digest"].upper())
    assert [c.name for c in with_qr][0] == "qr" and with_qr[0].status == CheckStatus.PASS


def test_digest_is_over_the_canonical_body_only() -> None:
    cert = _cert()
    assert certificate_digest(cert) == cert["digest"]
    # Key order, spacing and the unsigned fields do not change it; every value does.
    shuffled = json.loads(json.dumps(cert, indent=3, sort_keys=False))
    shuffled["signature"] = "0x" + "00" * 65
    assert certificate_digest(dict(reversed(list(shuffled.items())))) == cert["digest"]
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == b'{"a":[true,null,"\\u00e9"],"b":1}'
    for bad in ({"x": 1.0}, {"x": [1.5]}, {1: "x"}, {"x": {"y": object()}}):
        with pytest.raises(CertificateFormatError):
            canonical_json(bad)
    edited = {**cert, "as_of": "2027-01-01T00:00:00.000000Z"}
    assert certificate_digest(edited) != cert["digest"]


def test_an_edited_value_fails_the_digest_and_names_both_digests() -> None:
    cert = _cert()
    edited = copy.deepcopy(cert)
    edited["vouchers"][0]["amount"] = 9000
    checks = verify_certificate_offline(edited, trusted_signer=OPERATOR)
    digest = next(c for c in checks if c.name == "digest")
    assert digest.status == CheckStatus.FAIL
    assert digest.details == (f"digest in the certificate {cert['digest']}",
                              f"digest of its content {certificate_digest(edited)}")
    # The key did sign the digest the certificate carries.
    assert _statuses(checks)["signature"] == CheckStatus.PASS
    verdict = overall_verdict(checks)
    assert not verdict.ok and verdict.failed == ("Unchanged since it was signed",)
    assert verdict.headline == "NOT VERIFIED: Unchanged since it was signed."


def test_signature_rules() -> None:
    cert = _cert()
    other = sign_certificate(_body(), OTHER_KEY)
    forged = {**other, "signer": OPERATOR}
    forged = {**forged, "digest": certificate_digest(forged)}
    # Trusted operator given: only the operator's key passes, whatever is listed.
    assert _statuses(verify_certificate_offline(cert, trusted_signer=OPERATOR.lower()))["signature"] == "pass"
    for bad in (other, forged):
        sig = next(c for c in verify_certificate_offline(bad, trusted_signer=OPERATOR) if c.name == "signature")
        assert sig.status == CheckStatus.FAIL and "not the operator key you trust" in sig.summary
    # No trusted operator: a consistent signature is only a warning, an inconsistent one fails.
    assert _statuses(verify_certificate_offline(cert))["signature"] == CheckStatus.WARN
    assert _statuses(verify_certificate_offline(other))["signature"] == CheckStatus.WARN
    unpinned = next(c for c in verify_certificate_offline(forged) if c.name == "signature")
    assert unpinned.status == CheckStatus.FAIL and "not by the signer the certificate lists" in unpinned.summary
    verdict = overall_verdict(verify_certificate_offline(cert))
    assert verdict.ok and verdict.headline == "Verified, with notes: Signed by the operator."
    assert verdict.warnings == ("Signed by the operator",)
    # A signature that is not a signature.
    broken = {**cert, "signature": "0x" + "00" * 65}
    sig = next(c for c in verify_certificate_offline(broken, trusted_signer=OPERATOR) if c.name == "signature")
    assert sig.status == CheckStatus.FAIL and "cannot be read" in sig.summary


@pytest.mark.parametrize("what", ["leaf data", "order", "gap", "prev link", "first prev"])
def test_an_altered_record_fails_the_hash_chain(what: str) -> None:
    body = _body(leaves=6, batches=1)
    ms = body["milestones"]
    if what == "leaf data":
        ms[3]["data"] = {"n": "changed"}
        expected = "milestone 3 (first_response): leaf hash does not match the milestone's content"
    elif what == "order":
        ms[1], ms[2] = ms[2], ms[1]
        expected = "sequence 2 where 1 was expected"
    elif what == "gap":
        del ms[4]
        expected = "sequence 5 where 4 was expected"
    elif what == "prev link":
        ms[2]["prev"] = ms[0]["leaf"]
        expected = "milestone 2 (sla_breach): previous-leaf link broken"
    else:
        ms[0]["prev"] = "0x" + "11" * 32
        expected = "the first milestone does not start the chain"
    checks = verify_certificate_offline(sign_certificate(body, KEY), trusted_signer=OPERATOR)
    chain = next(c for c in checks if c.name == "hash_chain")
    assert chain.status == CheckStatus.FAIL, chain
    assert any(expected in line for line in chain.details), chain.details
    assert _statuses(checks)["digest"] == CheckStatus.PASS and _statuses(checks)["signature"] == CheckStatus.PASS


def test_withheld_details_still_link_up() -> None:
    body = _body(leaves=4, batches=1)
    del body["milestones"][1]["data"]
    body["milestones"][1]["withheld"] = True
    checks = verify_certificate_offline(sign_certificate(body, KEY), trusted_signer=OPERATOR)
    chain = next(c for c in checks if c.name == "hash_chain")
    assert chain.status == CheckStatus.WARN and chain.details == ("milestone 1: details withheld",)
    assert "the details of 1 are withheld" in chain.summary
    assert overall_verdict(checks).ok
    # Withheld is no cover for a broken link.
    body["milestones"][2]["prev"] = "0x" + "22" * 32
    checks = verify_certificate_offline(sign_certificate(body, KEY), trusted_signer=OPERATOR)
    assert _statuses(checks)["hash_chain"] == CheckStatus.FAIL


@pytest.mark.parametrize("what", ["proof", "root", "batch missing", "batch id", "twice", "unused", "long proof"])
def test_a_milestone_not_proven_in_its_batch_fails_inclusion(what: str) -> None:
    body = _body(leaves=5, batches=2)
    ms, batches = body["milestones"], body["batches"]
    if what == "proof":
        ms[1]["proof"][0] = "0x" + "33" * 32
        expected = "milestone 1 (sla_warning): its Merkle proof does not lead to the root of batch 1"
    elif what == "root":
        batches[1]["root"] = "0x" + "44" * 32
        expected = "its Merkle proof does not lead to the root of batch 2"
    elif what == "batch missing":
        ms[4]["batch_no"] = 7
        expected = "milestone 4 (resolved): batch 7 is not listed"
    elif what == "batch id":
        batches[0]["batch_id"] = "0x" + batch_id_for(9).hex()
        expected = "batch 1: its batch id is not the one derived from its number"
    elif what == "twice":
        batches.append(dict(batches[1]))
        expected = "batch 2 is listed twice"
    elif what == "unused":
        batches.append({**batches[1], "batch_no": 3, "batch_id": "0x" + batch_id_for(3).hex()})
        expected = "batch 3 is listed but holds none of these milestones"
    elif what == "long proof":
        # A proof that climbs past a 2-leaf tree's root (a 3-leaf batch claimed as 2 leaves).
        batches[0]["leaf_count"] = 2
        expected = "milestone 0 (opened): proof longer than a 2-leaf tree allows"
    checks = verify_certificate_offline(sign_certificate(body, KEY), trusted_signer=OPERATOR)
    inclusion = next(c for c in checks if c.name == "inclusion")
    assert inclusion.status == CheckStatus.FAIL, inclusion
    assert any(expected in line for line in inclusion.details), inclusion.details


def test_qr_digest_mismatch_fails() -> None:
    cert = _cert()
    checks = verify_certificate_offline(cert, expected_digest="0x" + "11" * 32, trusted_signer=OPERATOR)
    assert checks[0].name == "qr" and checks[0].status == CheckStatus.FAIL
    assert checks[0].details == ("QR code digest 0x" + "11" * 32, f"certificate digest {cert['digest']}")


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda c: c.update(format="qualitrail.certificate.v9"), "format must be"),
    (lambda c: c.update(ticket_id=""), "ticket_id must be a string"),
    (lambda c: c.update(chain_id=0), "chain_id must be a positive integer"),
    (lambda c: c.update(chain_id=True), "chain_id must be a positive integer"),
    (lambda c: c.update(registry="0x1234"), "registry must be an address"),
    (lambda c: c.update(signer=None), "signer must be an address"),
    (lambda c: c.update(as_of=5), "as_of must be a time"),
    (lambda c: c.update(digest=c["digest"].upper()), "digest must be"),
    (lambda c: c.update(signature="0x12"), "signature must be"),
    (lambda c: c.update(milestones={}), "milestones must be a list"),
    (lambda c: c.update(milestones=[]), "milestones must be non-empty"),
    (lambda c: c["milestones"].__setitem__(0, "x"), "milestones[0] must be an object"),
    (lambda c: c["milestones"][0].update(seq="0"), "milestones[0].seq must be an integer"),
    (lambda c: c["milestones"][0].update(kind=1), "milestones[0].kind must be a string"),
    (lambda c: c["milestones"][0].update(at=None), "milestones[0].at must be a string"),
    (lambda c: c["milestones"][0].update(prev="0x00"), "milestones[0].prev must be"),
    (lambda c: c["milestones"][1].update(leaf=None), "milestones[1].leaf must be"),
    (lambda c: c["milestones"][0].update(data={"n": 1}), "milestones[0].data must be a map of strings"),
    (lambda c: c["milestones"][0].update(withheld=True), "milestones[0].data must be absent when withheld"),
    (lambda c: c["milestones"][0].update(batch_no=None), "milestones[0].batch_no must be an integer"),
    (lambda c: c["milestones"][0].update(proof=["0x1"]), "milestones[0].proof must be a list of 32-byte hex"),
    (lambda c: c["batches"].__setitem__(0, []), "batches[0] must be an object"),
    (lambda c: c["batches"][0].update(leaf_count="3"), "batches[0].leaf_count must be an integer"),
    (lambda c: c["batches"][0].update(root="0x"), "batches[0].root must be"),
    (lambda c: c["vouchers"].__setitem__(0, 1), "vouchers[0] must be an object"),
    (lambda c: c["vouchers"][0].update(amount="500"), "vouchers[0].amount must be an integer"),
    (lambda c: c["vouchers"][0].update(currency=None), "vouchers[0].currency must be a string"),
    (lambda c: c["vouchers"][0].update(breach_leaf="0x00"), "vouchers[0].breach_leaf must be"),
])
def test_a_malformed_certificate_fails_the_format_check(edit: Any, problem: str) -> None:
    cert = copy.deepcopy(_cert())
    edit(cert)
    checks = verify_certificate_offline(cert, trusted_signer=OPERATOR)
    assert [c.name for c in checks] == ["format"] and checks[0].status == CheckStatus.FAIL
    assert any(line.startswith(problem) for line in checks[0].details), checks[0].details
    with pytest.raises(CertificateFormatError, match=problem.split(" must")[0].replace("[", r"\[").replace("]", r"\]")):
        parse_certificate(json.dumps(cert))


def test_parse_certificate_reads_only_json_objects() -> None:
    cert = _cert()
    assert parse_certificate(json.dumps(cert).encode()) == cert
    for raw in (b"\xff\xfe", "not json", "[1, 2]", "null"):
        with pytest.raises(CertificateFormatError):
            parse_certificate(raw)
    assert verify_certificate_offline([cert])[0].details == ("a certificate is a JSON object",)


def test_a_failed_check_outweighs_warnings_and_skips() -> None:
    passed = Check("a", "A", CheckStatus.PASS, "")
    warned = Check("b", "B", CheckStatus.WARN, "")
    skipped = Check("c", "C", CheckStatus.SKIP, "")
    failed = Check("d", "D", CheckStatus.FAIL, "")
    assert overall_verdict([passed, skipped]).headline == "Verified: every check passed. Not checked: C."
    assert overall_verdict([passed, warned, skipped]).headline == "Verified, with notes: B. Not checked: C."
    bad = overall_verdict([failed, warned, skipped, Check("e", "E", CheckStatus.FAIL, "")])
    assert not bad.ok and bad.headline == "NOT VERIFIED: D; E." and bad.failed == ("D", "E")
    assert bad.warnings == ("B",)
    assert failed.failed and not warned.failed
    assert failed.as_dict() == {"name": "d", "title": "D", "status": "fail", "summary": "", "details": []}
    assert GENESIS == "0x" + "00" * 32
