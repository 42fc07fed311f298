"""The service record (rule 2): every text of a ticket kept sealed, read back as one timeline, erasable.

The API hashes a text with the operator's key (that hash goes into the milestone, so onto the chain
only as part of a leaf) and stores the text itself sealed with AES-256-GCM under a key from settings.
The ciphertext is bound to its ticket, hash and kind, so a row copied onto another ticket does not
open. Erasure destroys the ciphertext; milestones and anchors stay, so certificates still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from Crypto.Cipher import AES
from sqlmodel import Session

from domain.encoding import format_time, parse_key_list
from domain.milestones import salted_hash
from readmodel import records
from readmodel.record_models import Erasure, ServiceText
from settings import Settings

__all__ = [
    "TEXT_KINDS",
    "RecordKeyError",
    "ServiceRecord",
    "TextSealer",
    "erase_record",
    "drop_text",
    "keep_text",
    "read_record",
    "sealer_for",
    "text_hash",
]

TEXT_KINDS = ("description", "reply", "note", "reason", "rating_comment")
KEY_BYTES = 32
NONCE_BYTES = 12
DERIVED_KEY_ID = "s0"


class RecordKeyError(ValueError):
    """The record key setting is malformed (the message never holds key material)."""


class TextSealer:
    """Seals and opens texts; the first key seals, every key opens (so keys can rotate)."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise RecordKeyError("at least one record key is needed")
        self.key_id = keys[0][0]
        self._keys = dict(keys)

    @staticmethod
    def _aad(ticket_id: str, text_hash: str, kind: str) -> bytes:
        return f"{ticket_id}\x00{text_hash}\x00{kind}".encode()

    def seal(self, text: str, *, ticket_id: str, text_hash: str, kind: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        cipher = AES.new(self._keys[self.key_id], AES.MODE_GCM, nonce=nonce)
        cipher.update(self._aad(ticket_id, text_hash, kind))
        body, tag = cipher.encrypt_and_digest(text.encode())
        return base64.b64encode(nonce + body + tag).decode()

    def open(self, sealed: str, *, key_id: str, ticket_id: str, text_hash: str, kind: str) -> str:
        """Opens a sealed text; raises ``ValueError`` for an unknown key or altered ciphertext."""
        key = self._keys.get(key_id)
        if key is None:
            raise ValueError(f"record key {key_id!r} is not configured")
        raw = base64.b64decode(sealed)
        cipher = AES.new(key, AES.MODE_GCM, nonce=raw[:NONCE_BYTES])
        cipher.update(self._aad(ticket_id, text_hash, kind))
        return cipher.decrypt_and_verify(raw[NONCE_BYTES:-16], raw[-16:]).decode()


def sealer_for(settings: Settings) -> TextSealer:
    """The record keys of ``settings``, or one key derived from the secret key when none is set."""
    configured = settings.record_keys.get_secret_value()
    if configured:
        return TextSealer(parse_key_list(configured, "record key", RecordKeyError, KEY_BYTES))
    derived = hmac.new(settings.secret_key.get_secret_value().encode(), b"qualitrail service-record key",
                       hashlib.sha256).digest()
    return TextSealer([(DERIVED_KEY_ID, derived)])


def text_hash(settings: Settings, text: str) -> str:
    """The keyed hash a milestone carries for ``text`` ("" for no text)."""
    return salted_hash(settings.secret_key.get_secret_value().encode(), text, "text") if text else ""


def keep_text(session: Session, settings: Settings, *, ticket_id: str, text: str, kind: str,
              actor: str) -> tuple[str, bool]:
    """Seals and stores ``text`` for the ticket; returns its hash and whether it was new.

    Called before the command that will carry the hash, so no text is lost if the API stops
    between the two; a refused command's text is dropped with :py:func:`drop_text`.
    """
    digest = text_hash(settings, text)
    if not digest:
        return "", False
    sealer = sealer_for(settings)
    row = ServiceText(ticket_id=ticket_id, text_hash=digest, kind=kind, actor=actor, key_id=sealer.key_id,
                      sealed=sealer.seal(text, ticket_id=ticket_id, text_hash=digest, kind=kind),
                      created_at=datetime.now(UTC))
    return digest, records.store_text(session=session, row=row)


def drop_text(session: Session, *, ticket_id: str, digest: str) -> None:
    records.drop_text(session=session, ticket_id=ticket_id, text_hash=digest)


@dataclass
class ServiceRecord:
    """What a reviewer reads: the ticket, and each milestone with its texts and anchor."""

    ticket: dict[str, Any] | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    erasures: list[dict[str, Any]] = field(default_factory=list)


def _time(at: datetime) -> str:
    # SQLite hands datetimes back naive; they were written in UTC.
    return format_time(at if at.tzinfo else at.replace(tzinfo=UTC))


def _text_entry(settings: Settings, sealer: TextSealer, row: ServiceText) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": row.kind, "actor": row.actor, "text_hash": row.text_hash,
                             "recorded_at": _time(row.created_at),
                             "text": None, "erased": row.sealed is None, "hash_matches": None}
    if row.sealed is not None:
        try:
            text = sealer.open(row.sealed, key_id=row.key_id, ticket_id=row.ticket_id, text_hash=row.text_hash,
                               kind=row.kind)
        except ValueError:
            entry["hash_matches"] = False  # altered ciphertext or a key no longer configured
        else:
            entry["text"] = text
            # The text is the one the evidence attests only if its keyed hash is the milestone's.
            entry["hash_matches"] = hmac.compare_digest(text_hash(settings, text), row.text_hash)
    return entry


def read_record(session: Session, settings: Settings, ticket_id: str) -> ServiceRecord | None:
    """The ticket's whole record, or None for an unknown ticket."""
    ticket, rows = records.timeline_of(session=session, ticket_id=ticket_id)
    if ticket is None and not rows:
        return None
    sealer = sealer_for(settings)
    texts = {t.text_hash: t for t in records.texts_of(session=session, ticket_id=ticket_id)}
    record = ServiceRecord(ticket=None if ticket is None else {
        "ticket_id": ticket.id, "status": ticket.status, "priority": ticket.priority, "category": ticket.category,
        "team": ticket.team, "assignee": ticket.assignee, "rating": ticket.rating,
        "clocks": [{"name": "first_response", "due": ticket.first_response_due,
                    "outcome": ticket.first_response_outcome},
                   {"name": "resolution", "due": ticket.resolution_due, "outcome": ticket.resolution_outcome}]})
    for row in rows:
        m, batch = row.milestone, row.batch
        data: dict[str, str] = json.loads(m.data)
        # A text belongs to the milestones whose data carries its hash (under whatever key).
        linked = [_text_entry(settings, sealer, texts[v]) for v in data.values() if v in texts]
        anchored = batch is not None and batch.status == "anchored"
        record.entries.append({
            "seq": m.seq, "kind": m.kind, "at": m.at, "actor": data.get("actor", ""), "data": data,
            "leaf": m.leaf, "texts": linked,
            "evidence": {"status": "anchored" if anchored else "pending", "batch_no": m.batch_no,
                         "root": batch.root if anchored and batch else None,
                         "tx_hash": batch.tx_hash if anchored and batch else None,
                         "block_number": batch.block_number if anchored and batch else None}})
    record.erasures = [_erasure_entry(e) for e in records.erasures_of(session=session, ticket_id=ticket_id)]
    return record


def _erasure_entry(e: Erasure) -> dict[str, Any]:
    return {"request_ref": e.request_ref, "erased_by": e.erased_by, "erased_count": e.erased_count,
            "at": _time(e.at)}


def erase_record(session: Session, *, ticket_id: str, request_ref: str, erased_by: str) -> dict[str, Any]:
    """Destroys the ticket's texts (personal-data erasure); the evidence is left as it is."""
    erasure = records.erase_texts(session=session, ticket_id=ticket_id, request_ref=request_ref,
                                  erased_by=erased_by, at=datetime.now(UTC))
    return _erasure_entry(erasure)
