"""Feedback intake (rule 14), shared by the API's routes and the inbound e-mail receiver.

Every submission is stored first (its text and contact sealed like the service record's texts), and
only then handed to its triage workflow; a submission whose workflow cannot be started now stays
``received`` and the sweep (``workflows/feedback.py:FeedbackSweepWorkflow``) starts it later. The
same words from the same customer inside the policy's duplicate window are stored too, marked as a
duplicate of the first, and not triaged again.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain.feedback import FeedbackInput, FeedbackModel, duplicate_key, feedback_ticket_id, spam_score
from domain.milestones import customer_match_hash
from readmodel import feedback as store
from readmodel.feedback_models import Feedback, FeedbackErasure
from services.service_record import sealer_for, text_hash
from settings import Settings
from workflows.names import FEEDBACK_WORKFLOW

log = logging.getLogger("qualitrail.feedback")
SEAL_KIND = "feedback"


@dataclass
class Submission:
    """One piece of feedback as a channel received it."""

    channel: str
    text: str
    contact: str  # phone number or e-mail address: who the customer is (sealed, matched by keyed hash)
    submitted_by: str  # "public", "email" or a staff key's id
    kind: str = ""
    language: str = "zh"
    subject: str = ""  # an e-mail's subject
    observer_id: str | None = None


@dataclass
class Stored:
    """What the intake answers: the reference to follow (the first one's, for a duplicate)."""

    ref: str
    ticket_id: str
    duplicate: bool
    stored_ref: str
    received_at: datetime


def customer_key(settings: Settings, contact: str) -> str:
    """The server-side match key of a contact (an e-mail address compares case-insensitively)."""
    norm = contact.strip()
    norm = norm.lower() if "@" in norm else "".join(norm.split())
    return customer_match_hash(settings.secret_key.get_secret_value().encode(), norm)


def store_submission(session: Session, settings: Settings, policy: FeedbackModel, sub: Submission) -> Stored:
    """Stores the submission (always); returns the reference the sender follows."""
    now = datetime.now(UTC)
    ref = "FB-" + uuid.uuid4().hex[:20]
    key = customer_key(settings, sub.contact)
    body = f"{sub.subject}\n{sub.text}" if sub.subject else sub.text
    dedupe = duplicate_key(key, body)
    window = timedelta(hours=policy.duplicate_window_hours)
    original = store.recent_original(session=session, dedupe_key=dedupe, since=now - window) if window else None
    digest = text_hash(settings, body)
    sealer = sealer_for(settings)
    payload = json.dumps({"text": sub.text, "subject": sub.subject, "contact": sub.contact.strip()},
                         ensure_ascii=False)
    row = Feedback(ref=ref, channel=sub.channel, kind_asked=sub.kind, language=sub.language, customer_key=key,
                   dedupe_key=dedupe, duplicate_of=original.ref if original else None, text_hash=digest,
                   key_id=sealer.key_id, sealed=sealer.seal(payload, ticket_id=ref, text_hash=digest, kind=SEAL_KIND),
                   spam_score=spam_score(body, policy.spam), status="duplicate" if original else "received",
                   ticket_id=feedback_ticket_id(ref), submitted_by=sub.submitted_by, observer_id=sub.observer_id,
                   received_at=now)
    store.store_feedback(session=session, row=row)
    if original is not None:
        return Stored(original.ref, original.ticket_id, True, ref, original.received_at)
    return Stored(ref, row.ticket_id, False, ref, now)


def open_feedback(settings: Settings, row: Feedback) -> dict[str, str]:
    """The sealed text, subject and contact of a stored feedback."""
    opened = sealer_for(settings).open(row.sealed, key_id=row.key_id, ticket_id=row.ref, text_hash=row.text_hash,
                                       kind=SEAL_KIND)
    data: dict[str, str] = json.loads(opened)
    return data


async def start_triage(client: Client | None, settings: Settings, ref: str) -> bool:
    """Starts the feedback's triage workflow; False if Temporal cannot be reached now (the sweep will)."""
    if client is None:
        return False
    try:
        await client.start_workflow(FEEDBACK_WORKFLOW, FeedbackInput(ref), id=f"feedback-{ref}",
                                    task_queue=settings.task_queue,
                                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        return True
    except RPCError as exc:
        log.warning("feedback %s stored; triage not started yet: %s", ref, exc.status)
        return False
    return True


class NotTriagedYet(Exception):
    """Erasure waits for triage: the triage still reads the words to decide what they become."""


def erase_submission(session: Session, settings: Settings, *, ref: str, request_ref: str,
                     erased_by: str) -> FeedbackErasure | None:
    """Personal-data erasure of one piece of feedback (None: no such reference).

    Erasing twice answers with the first erasure. A duplicate's reference erases its original.
    """
    row = store.get_feedback(session=session, ref=ref)
    if row is None:
        return None
    if row.duplicate_of:
        original = store.get_feedback(session=session, ref=row.duplicate_of)
        row = original or row
    done = store.erasure_of(session=session, ref=row.ref)
    if done is not None:
        return done
    if row.status == "received":
        raise NotTriagedYet(row.ref)
    # The note it left on a ticket it joined carries the hash of its words (activities/feedback.py).
    note_hash = text_hash(settings, open_feedback(settings, row)["text"]) if row.sealed else ""
    return store.erase_feedback(session=session, row=row, request_ref=request_ref, erased_by=erased_by,
                                at=datetime.now(UTC), note_hash=note_hash)
