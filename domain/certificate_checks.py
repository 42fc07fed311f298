"""Offline verification of a certificate: everything that needs nothing but the document.

Shape, the QR digest, the digest, the signature (the key recovered from it, never the signer the
document lists), the hash chain, and each milestone's Merkle inclusion. Whether the roots are on a
chain is checked by :py:mod:`certificates.verify`. Pure code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.certificate import certificate_digest, recover_signer, shape_problems
from domain.encoding import from_hex, to_hex
from domain.evidence_types import batch_id_for
from domain.merkle import process_proof
from domain.milestones import BATCH_FORMAT_V1, GENESIS, tree_leaf, verify_chain

__all__ = ["Check", "CheckStatus", "Verdict", "overall_verdict", "verify_certificate_offline"]


class CheckStatus(StrEnum):
    """Outcome of one check.

    ``warn`` does not fail a certificate (e.g. a signer nobody pinned, milestone details withheld);
    ``skip`` means the check was not run (e.g. chain checks in an offline verification).
    """

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One verification step, in words a customer can read.

    Attributes:
        name: Stable machine name (``digest``, ``signature``, ``hash_chain``, ``inclusion``, ...).
        title: What is checked, in plain words.
        status: The outcome.
        summary: One sentence saying what was found.
        details: One line per item checked or per problem found (what failed, where).
    """

    name: str
    title: str
    status: CheckStatus
    summary: str
    details: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether this check failed."""
        return self.status == CheckStatus.FAIL

    def as_dict(self) -> dict[str, Any]:
        """Return the check as plain JSON-ready data."""
        return {"name": self.name, "title": self.title, "status": self.status.value,
                "summary": self.summary, "details": list(self.details)}


@dataclass(frozen=True)
class Verdict:
    """The overall outcome of a list of checks.

    Attributes:
        ok: ``True`` if no check failed.
        headline: One sentence for the top of a page or a terminal.
        failed: Titles of the failed checks.
        warnings: Titles of the checks that passed with a warning.
    """

    ok: bool
    headline: str
    failed: tuple[str, ...]
    warnings: tuple[str, ...]


def overall_verdict(checks: Sequence[Check]) -> Verdict:
    """Combine checks into one verdict: any failure fails the whole certificate.

    Args:
        checks: The checks that were run.

    Returns:
        The verdict.
    """
    failed = tuple(c.title for c in checks if c.status == CheckStatus.FAIL)
    warnings = tuple(c.title for c in checks if c.status == CheckStatus.WARN)
    skipped = tuple(c.title for c in checks if c.status == CheckStatus.SKIP)
    if failed:
        return Verdict(False, "NOT VERIFIED: " + "; ".join(failed) + ".", failed, warnings)
    if warnings:
        headline = "Verified, with notes: " + "; ".join(warnings) + "."
    else:
        headline = "Verified: every check passed."
    if skipped:
        # Say what was not looked at: an offline pass is weaker than a pass against a chain.
        headline += " Not checked: " + "; ".join(skipped) + "."
    return Verdict(True, headline, failed, warnings)


# ----------------------------------------------------------------------------- checks


def _same_address(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _check_qr(cert: Mapping[str, Any], expected_digest: str) -> Check:
    title = "Matches the QR code"
    if expected_digest.lower() == str(cert["digest"]).lower():
        return Check("qr", title, CheckStatus.PASS,
                     "The certificate is exactly the one the QR code was made for.")
    return Check("qr", title, CheckStatus.FAIL,
                 "The certificate does not match the QR code: the record was changed since the QR code "
                 "was made, or this is not the certificate the QR code belongs to.",
                 (f"QR code digest {expected_digest}", f"certificate digest {cert['digest']}"))


def _check_digest(cert: Mapping[str, Any], digest: str) -> Check:
    title = "Unchanged since it was signed"
    if digest == cert["digest"]:
        return Check("digest", title, CheckStatus.PASS,
                     "The certificate's content hashes to the digest it carries.")
    return Check("digest", title, CheckStatus.FAIL,
                 "The certificate was changed after it was signed: its content no longer hashes to "
                 "its digest.",
                 (f"digest in the certificate {cert['digest']}", f"digest of its content {digest}"))


def _check_signature(cert: Mapping[str, Any], digest: str, trusted_signer: str | None) -> Check:
    title = "Signed by the operator"
    listed = str(cert["signer"])
    try:
        # Recover over the digest the certificate claims, so a changed body fails the digest check
        # above while this check still tells whether the claimed digest was signed by that key.
        recovered = recover_signer(cert, str(cert["digest"]))
    except Exception as exc:  # noqa: BLE001 - any malformed signature is a failed signature
        return Check("signature", title, CheckStatus.FAIL, f"The signature cannot be read: {exc}.")
    if trusted_signer is not None:
        if _same_address(recovered, trusted_signer):
            return Check("signature", title, CheckStatus.PASS,
                         f"Signed by {recovered}, the operator key you trust.")
        return Check("signature", title, CheckStatus.FAIL,
                     f"Signed by {recovered}, which is not the operator key you trust ({trusted_signer}).",
                     (f"signed by {recovered}", f"trusted signer {trusted_signer}", f"listed signer {listed}"))
    if not _same_address(recovered, listed):
        return Check("signature", title, CheckStatus.FAIL,
                     f"Signed by {recovered}, not by the signer the certificate lists ({listed}).")
    return Check("signature", title, CheckStatus.WARN,
                 f"Validly signed by {recovered}, the signer the certificate lists; no trusted operator "
                 "address was given to compare it with.")


def _check_hash_chain(cert: Mapping[str, Any]) -> Check:
    title = "Service record complete and in order"
    milestones: list[dict[str, Any]] = cert["milestones"]
    withheld = {int(m["seq"]) for m in milestones if m.get("withheld") is True}
    links = [{**m, "data": m.get("data", {})} for m in milestones]
    problems = []
    for p in verify_chain(str(cert["ticket_id"]), links):
        # A withheld milestone's leaf cannot be recomputed (its data is not in the certificate); its
        # place in the chain is still checked through the links before and after it.
        if p.seq in withheld and p.problem.startswith("leaf hash"):
            continue
        kind = next((str(m["kind"]) for m in milestones if m["seq"] == p.seq), "?")
        problems.append(f"milestone {p.seq} ({kind}): {p.problem}")
    if milestones and milestones[0]["prev"] != GENESIS:
        problems.append("the first milestone does not start the chain")
    if problems:
        return Check("hash_chain", title, CheckStatus.FAIL,
                     "The service record was altered: some milestones do not match their hashes or links.",
                     tuple(problems))
    count = len(milestones)
    if withheld:
        return Check("hash_chain", title, CheckStatus.WARN,
                     f"All {count} milestones link up in order; the details of {len(withheld)} are withheld "
                     "because they hold free text, so only their place in the chain could be checked.",
                     tuple(f"milestone {s}: details withheld" for s in sorted(withheld)))
    return Check("hash_chain", title, CheckStatus.PASS,
                 f"All {count} milestones match their hashes and link up in order, with none missing.")


def _check_inclusion(cert: Mapping[str, Any]) -> Check:
    title = "Every step is in an anchored batch"
    batches: dict[int, Mapping[str, Any]] = {}
    problems: list[str] = []
    for b in cert["batches"]:
        if int(b["batch_no"]) in batches:
            problems.append(f"batch {b['batch_no']} is listed twice")
        batches[int(b["batch_no"])] = b
        if int(b["batch_no"]) >= 1 and to_hex(batch_id_for(int(b["batch_no"]))) != b["batch_id"]:
            problems.append(f"batch {b['batch_no']}: its batch id is not the one derived from its number")
    used: set[int] = set()
    for m in cert["milestones"]:
        batch = batches.get(int(m["batch_no"]))
        label = f"milestone {m['seq']} ({m['kind']})"
        if batch is None:
            problems.append(f"{label}: batch {m['batch_no']} is not listed")
            continue
        used.add(int(m["batch_no"]))
        try:
            node = tree_leaf(from_hex(m["leaf"]), str(m["kind"]), int(batch.get("format", BATCH_FORMAT_V1)))
            rebuilt = to_hex(process_proof(node, [from_hex(p) for p in m["proof"]]))
        except ValueError as exc:
            problems.append(f"{label}: malformed proof ({exc})")
            continue
        if rebuilt != batch["root"]:
            problems.append(f"{label}: its Merkle proof does not lead to the root of batch {m['batch_no']}")
        elif len(m["proof"]) > max(int(batch["leaf_count"]) - 1, 0).bit_length():
            problems.append(f"{label}: proof longer than a {batch['leaf_count']}-leaf tree allows")
    for batch_no in sorted(set(batches) - used):
        problems.append(f"batch {batch_no} is listed but holds none of these milestones")
    if problems:
        return Check("inclusion", title, CheckStatus.FAIL,
                     "Some milestones are not proven to be part of the batches that were anchored.",
                     tuple(problems))
    return Check("inclusion", title, CheckStatus.PASS,
                 f"Each of the {len(cert['milestones'])} milestones is proven part of its batch's Merkle "
                 f"root ({len(batches)} batch{'es' if len(batches) != 1 else ''}).")


def verify_certificate_offline(cert: Any, *, trusted_signer: str | None = None,
                               expected_digest: str | None = None, stop_at_failure: bool = False) -> list[Check]:
    """Run every check that needs nothing but the certificate (no network, no database).

    Checks: shape, QR digest (if ``expected_digest``), digest, signature, hash chain, Merkle
    inclusion of each milestone in its batch's root. Whether those roots are on a chain is checked by
    ``certificates.verify``.

    Args:
        cert: A parsed certificate (any JSON value: a malformed one fails the first check).
        trusted_signer: The operator address the verifier trusts. Without it the signature is only
            compared with the signer the certificate lists, which a forger could list too (a warning).
        expected_digest: The digest the QR code carries, if the certificate came from a QR code.
        stop_at_failure: Skip every check after the first failed one (a public verifier: an
            upload that fails its digest costs no hash chain or Merkle work).

    Returns:
        The checks, in the order they should be shown.
    """
    problems = shape_problems(cert)
    if problems:
        return [Check("format", "Readable certificate", CheckStatus.FAIL,
                      "This is not a readable Qualitrail certificate.", tuple(problems[:20]))]
    digest = certificate_digest(cert)
    steps: list[Callable[[], Check]] = [
        lambda: _check_digest(cert, digest),
        lambda: _check_signature(cert, digest, trusted_signer),
        lambda: _check_hash_chain(cert),
        lambda: _check_inclusion(cert),
    ]
    if expected_digest is not None:
        steps.insert(0, lambda: _check_qr(cert, expected_digest))
    checks: list[Check] = []
    for step in steps:
        if stop_at_failure and checks and checks[-1].status == CheckStatus.FAIL:
            break
        checks.append(step())
    return checks

