"""Build and sign a ticket's evidence certificate from the read model.

A certificate covers the ticket's milestones from the first one up to the last one that is
anchored without a gap (later milestones are still waiting for their batch). It is
deterministic: the same records always give the same bytes, digest and signature (RFC 6979
signatures are deterministic too). That is what lets the public page find the exact certificate a
QR code was made for, even after the ticket moved on: :py:func:`find_certificate` rebuilds the
certificate for each earlier extent of the record until the digest matches.

No personal data goes into a certificate: milestone data holds codes and keyed hashes only. As a
second line of defence, a milestone whose data holds a known personal field (a raw customer
reference, a description, a note ...) or free text is *withheld*: its kind, time and links stay,
its data does not, and verifiers are told its content could not be recomputed.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from chain.context import ChainContext
from domain.certificate import (
    CERTIFICATE_FORMAT,
    CERTIFICATE_FORMAT_V1,
    canonical_json,
    sign_certificate,
)
from domain.encoding import to_hex
from domain.hashing import keccak256
from domain.milestones import BATCH_FORMAT_V1, MilestoneKind
from readmodel import crud, evidence
from readmodel.evidence import ANCHORED, TicketRecord
from readmodel.models import AnchorBatch, Milestone, Voucher
from settings import Settings

__all__ = [
    "CertificateSigner",
    "NotCertifiable",
    "build_certificate",
    "certificate_bodies",
    "find_certificate",
    "is_safe_data",
    "pending_count",
    "signer_for",
    "write_certificate",
]

# Keys that name personal data. A value under one of them is allowed only as a keyed hash.
_PERSONAL_KEYS = frozenset({
    "customer", "customer_ref", "customer_id", "customer_name", "name", "email", "phone", "address",
    "description", "summary", "comment", "note", "text", "message",
})
# Keys whose value names someone or links to another record even when it looks like a code: the agent
# a ticket was assigned to, the customer's earlier ticket. Certificates are public (anyone holding the
# QR code), so these are withheld whatever their value.
_NAMING_KEYS = frozenset({"assignee", "previous_ticket"})
_HASH = re.compile(r"^0x[0-9a-fA-F]{16,}$")
# Codes: identifiers, numbers, enum values, actor key ids like "agent#0". No spaces (free text),
# no "@" (e-mail addresses).
_CODE = re.compile(r"^[A-Za-z0-9_.:#/+-]{0,80}$")


class NotCertifiable(LookupError):
    """The ticket is unknown or none of its milestones is anchored yet."""


def is_safe_data(data: dict[str, str]) -> bool:
    """Tell whether a milestone's data may appear in a certificate (codes and hashes only).

    Args:
        data: The milestone's data map.

    Returns:
        ``False`` if a value is free text, a personal field holds anything but a hash, or a key names
        someone or another record (assignee, previous ticket).
    """
    for key, value in data.items():
        if key.lower() in _NAMING_KEYS:
            return False
        if _HASH.match(value):
            continue
        if key.lower() in _PERSONAL_KEYS or key.lower().startswith("customer") or not _CODE.match(value):
            return False
    return True


@dataclass(frozen=True)
class CertificateSigner:
    """Where certificates point and who signs them.

    Attributes:
        chain_id: The chain the evidence is anchored on.
        registry: EvidenceRegistry address.
        voucher_contract: CompensationVoucher address.
        private_key: The operator's certificate key (never logged or shown).
    """

    chain_id: int
    registry: str
    voucher_contract: str
    private_key: str = field(repr=False)

    @property
    def address(self) -> str:
        """The signer's checksum address."""
        from eth_account import Account

        return str(Account.from_key(self.private_key).address)


_SIGNERS: dict[tuple[str, str, float], CertificateSigner] = {}
_SIGNERS_LOCK = threading.Lock()


def signer_for(settings: Settings) -> CertificateSigner:
    """Return the certificate signer of ``settings`` (chain, contracts and key), cached.

    The key is ``QT_SIGNER_KEY``; on a local Anvil (chain id 31337) an empty setting means
    Anvil's public development account 4, and a public key is refused on any other chain (see
    :py:class:`chain.context.ChainContext`). The contracts come from the deployment record
    ``var_dir/deployments/<chain id>.json``; the cache follows the record when it is rewritten (a
    redeployment after a chain reset).

    Args:
        settings: The shared settings.

    Returns:
        The signer.

    Raises:
        RuntimeError: If there is no deployment record for the node's chain.
        ValueError: If the key is missing or refused on this chain.
    """
    records = settings.var_dir / "deployments"
    mtime = max((p.stat().st_mtime for p in records.glob("*.json")), default=0.0)
    key = (settings.rpc_url, str(settings.var_dir), mtime)
    with _SIGNERS_LOCK:
        cached = _SIGNERS.get(key)
        if cached is None:
            context = ChainContext(settings, deploy=False)
            deployment = context.deployment()
            account = context.account("signer")
            cached = CertificateSigner(deployment.chain_id, deployment.registry, deployment.voucher,
                                       to_hex(account.key))
            _SIGNERS.clear()
            _SIGNERS[key] = cached
        return cached


def _is_anchored(m: Milestone, batches: dict[int, AnchorBatch]) -> bool:
    batch = batches.get(m.batch_no) if m.batch_no is not None else None
    return (batch is not None and batch.status == ANCHORED and m.proof is not None
            and batch.tx_hash is not None and batch.block_number is not None and batch.block_hash is not None)


def _anchored_prefix(record: TicketRecord) -> int:
    count = 0
    for expected, m in enumerate(record.milestones):
        # A gap in the sequence ends the prefix too: the hash chain check would fail on it anyway,
        # and a certificate never claims more than the read model can show.
        if m.seq != expected or not _is_anchored(m, record.batches):
            break
        count += 1
    return count


def _milestone_entry(m: Milestone) -> dict[str, Any]:
    entry: dict[str, Any] = {"seq": m.seq, "kind": m.kind, "at": m.at, "prev": m.prev, "leaf": m.leaf,
                             "batch_no": m.batch_no, "proof": json.loads(m.proof or "[]")}
    try:
        data = json.loads(m.data)
    except ValueError:
        data = None
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()) and is_safe_data(data):
        entry["data"] = data
    else:
        entry["withheld"] = True
    return entry


def _batch_entry(b: AnchorBatch) -> dict[str, Any]:
    entry: dict[str, Any] = {"batch_no": b.batch_no, "batch_id": b.batch_id, "root": b.root,
                             "leaf_count": b.leaf_count, "tx_hash": b.tx_hash, "block_number": b.block_number,
                             "block_hash": b.block_hash}
    # Format 1 batches stay as they were, so certificates issued before formats existed keep their
    # bytes and digest (and their QR codes keep working).
    if b.format != BATCH_FORMAT_V1:
        entry["format"] = b.format
    return entry


def _voucher_entry(v: Voucher, breach_leaf: str) -> dict[str, Any]:
    # Only what never changes after issue: whether it was redeemed is read from the chain by the
    # verifier, so redeeming a voucher does not change the certificate (or invalidate its QR code).
    return {"voucher_id": v.voucher_id, "breach": v.breach, "claim_id": v.claim_id, "amount": v.amount,
            "currency": v.currency, "tx_hash": v.tx_hash, "block_number": v.block_number,
            "breach_leaf": v.breach_leaf or breach_leaf}


def _body(ticket_id: str, record: TicketRecord, count: int, signer: CertificateSigner) -> dict[str, Any]:
    covered = record.milestones[:count]
    batch_nos = sorted({m.batch_no for m in covered if m.batch_no is not None})
    vouchers: list[dict[str, Any]] = []
    for m in covered:
        # A voucher belongs to the extent of the record that contains its voucher_issued milestone,
        # so an earlier extent's certificate stays the same when a voucher is issued later.
        if m.kind != MilestoneKind.VOUCHER_ISSUED:
            continue
        data = json.loads(m.data)
        row = record.vouchers.get(int(data.get("voucher_id", "0") or 0))
        if row is not None:
            vouchers.append(_voucher_entry(row, data.get("breach_leaf", "")))
    batches = [_batch_entry(record.batches[n]) for n in batch_nos]
    return {
        "format": CERTIFICATE_FORMAT if any("format" in b for b in batches) else CERTIFICATE_FORMAT_V1,
        "ticket_id": ticket_id,
        "as_of": covered[-1].at,
        "chain_id": signer.chain_id,
        "registry": signer.registry,
        "voucher_contract": signer.voucher_contract,
        "signer": signer.address,
        "milestones": [_milestone_entry(m) for m in covered],
        "batches": batches,
        "vouchers": vouchers,
    }


def certificate_bodies(*, session: Session, ticket_id: str, signer: CertificateSigner
                       ) -> Iterator[tuple[dict[str, Any], int]]:
    """Yield the unsigned certificate of each extent of the record, the newest first.

    Args:
        session: Read-model session.
        ticket_id: The ticket.
        signer: Chain, contracts and signer address to put in the certificates.

    Yields:
        ``(body, newer)``: a certificate body and how many anchored milestones are newer than it.

    Raises:
        NotCertifiable: If the ticket has no anchored milestone.
    """
    # Only tickets get certificates: a supplier's or a meeting's chain is internal governance.
    if crud.get_ticket(session=session, ticket_id=ticket_id) is None:
        raise NotCertifiable(f"no ticket {ticket_id}")
    record = evidence.ticket_record(session=session, ticket_id=ticket_id)
    count = _anchored_prefix(record)
    if count == 0:
        raise NotCertifiable(f"ticket {ticket_id} has no anchored milestone yet" if record.milestones
                             else f"no ticket {ticket_id}")
    for extent in range(count, 0, -1):
        yield _body(ticket_id, record, extent, signer), count - extent


def build_certificate(*, session: Session, ticket_id: str, signer: CertificateSigner) -> dict[str, Any]:
    """Build and sign the current certificate of a ticket.

    Args:
        session: Read-model session.
        ticket_id: The ticket.
        signer: Chain, contracts and key.

    Returns:
        The signed certificate.

    Raises:
        NotCertifiable: If the ticket has no anchored milestone.
    """
    body, _ = next(certificate_bodies(session=session, ticket_id=ticket_id, signer=signer))
    return sign_certificate(body, signer.private_key)


def find_certificate(*, session: Session, ticket_id: str, signer: CertificateSigner, digest: str
                     ) -> tuple[dict[str, Any], int] | None:
    """Find the certificate with ``digest`` among the extents of the ticket's record.

    Args:
        session: Read-model session.
        ticket_id: The ticket.
        signer: Chain, contracts and key.
        digest: The digest a QR code carries.

    Returns:
        ``(signed certificate, anchored milestones newer than it)``, or ``None`` if no extent of the
        current record has that digest (the record was altered, or the QR code is not ours).

    Raises:
        NotCertifiable: If the ticket has no anchored milestone.
    """
    wanted = digest.lower()
    record = evidence.ticket_record(session=session, ticket_id=ticket_id)
    count = _anchored_prefix(record)
    if count == 0:
        raise NotCertifiable(f"ticket {ticket_id} has no anchored milestone yet" if record.milestones
                             else f"no ticket {ticket_id}")
    for extent, canonical in _canonical_extents(ticket_id, record, count, signer):
        if to_hex(keccak256(canonical)) == wanted:
            return sign_certificate(_body(ticket_id, record, extent, signer), signer.private_key), count - extent
    return None


def _canonical_extents(ticket_id: str, record: TicketRecord, count: int, signer: CertificateSigner
                       ) -> Iterator[tuple[int, bytes]]:
    """Yield ``(extent, canonical JSON of its certificate body)``, the newest extent first.

    The same bytes as ``canonical_json(_body(...))``, but each milestone, batch and voucher is
    encoded once for all extents and each extent is joined from those pieces: the Python work is
    linear in the ticket's length, where building every extent's body was quadratic (issue 12:
    1.2 s for 182 steps, on a public route, for any digest). The bytes hashed still grow with the
    square of the length, at the speed of C.
    """
    covered = record.milestones[:count]
    entries = [canonical_json(_milestone_entry(m)) for m in covered]
    vouchers: list[bytes] = []
    vouchers_upto = [0]  # vouchers_upto[k]: vouchers issued within the first k milestones
    for m in covered:
        if m.kind == MilestoneKind.VOUCHER_ISSUED:
            data = json.loads(m.data)
            row = record.vouchers.get(int(data.get("voucher_id", "0") or 0))
            if row is not None:
                vouchers.append(canonical_json(_voucher_entry(row, data.get("breach_leaf", ""))))
        vouchers_upto.append(len(vouchers))
    uses: dict[int, int] = {}
    for m in covered:
        if m.batch_no is not None:
            uses[m.batch_no] = uses.get(m.batch_no, 0) + 1
    batch_nos = sorted(uses)
    batch_entries = [canonical_json(_batch_entry(record.batches[n])) for n in batch_nos]
    # A certificate names format 2 only when one of its batches is of a later format (see _body).
    later = {n for n in batch_nos if record.batches[n].format != BATCH_FORMAT_V1}
    fixed = {"registry": signer.registry, "signer": signer.address, "ticket_id": ticket_id,
             "voucher_contract": signer.voucher_contract}
    # Keys in sorted order, as canonical_json writes them: as_of, batches, chain_id, format,
    # milestones, registry, signer, ticket_id, voucher_contract, vouchers.
    tail = b"".join(b"," + json.dumps(k).encode() + b":" + canonical_json(fixed[k])
                    for k in ("registry", "signer", "ticket_id", "voucher_contract"))
    for extent in range(count, 0, -1):
        form = CERTIFICATE_FORMAT if later.intersection(batch_nos) else CERTIFICATE_FORMAT_V1
        middle = b',"chain_id":' + canonical_json(signer.chain_id) + b',"format":' + canonical_json(form)
        yield extent, b"".join((
            b'{"as_of":', canonical_json(covered[extent - 1].at),
            b',"batches":[', b",".join(batch_entries), b"]", middle,
            b',"milestones":[', b",".join(entries[:extent]), b"]", tail,
            b',"vouchers":[', b",".join(vouchers[:vouchers_upto[extent]]), b"]}"))
        # The next (shorter) extent drops this milestone, and its batch once no milestone uses it.
        dropped = covered[extent - 1].batch_no
        if dropped is not None:
            uses[dropped] -= 1
            if uses[dropped] == 0:
                index = batch_nos.index(dropped)
                del batch_nos[index], batch_entries[index]


def pending_count(*, session: Session, ticket_id: str) -> int:
    """Return how many of the ticket's milestones are not covered by its certificate yet.

    Args:
        session: Read-model session.
        ticket_id: The ticket.

    Returns:
        The number of milestones after the anchored prefix.
    """
    record = evidence.ticket_record(session=session, ticket_id=ticket_id)
    return len(record.milestones) - _anchored_prefix(record)


def write_certificate(path: Path, cert: dict[str, Any]) -> None:
    """Write a certificate as indented UTF-8 JSON (indentation does not change its digest).

    Args:
        path: Destination file.
        cert: The signed certificate.
    """
    path.write_text(json.dumps(cert, indent=2, sort_keys=True) + "\n", encoding="utf-8")
