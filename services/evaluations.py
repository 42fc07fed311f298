"""Filing a mystery-shopping evaluation (rule 4): a milestone of its own subject, anchored like all.

The evaluator's free-text notes are kept sealed in the service record (services/service_record.py);
the milestone holds the scores and the notes' keyed hash only.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from domain.encoding import format_time
from domain.milestones import new_milestone
from domain.tickets import MilestoneView
from readmodel import evaluations
from readmodel.evaluation_models import Evaluation
from services.service_record import keep_text, text_hash
from settings import Settings

EVALUATION_FILED = "mystery_evaluation_filed"


class EvaluationConflict(ValueError):
    """The evaluation id was used for a different evaluation."""


def evaluation_subject(evaluation_id: str) -> str:
    return f"eval-{evaluation_id}"


def file_evaluation(session: Session, settings: Settings, *, evaluation_id: str, target_kind: str, target: str,
                    visited_at: datetime, scores: dict[str, int], notes: str,
                    evaluator: str) -> tuple[Evaluation, bool]:
    """Files the evaluation once; the same request again returns the stored one (created=False)."""
    canonical = json.dumps({"target_kind": target_kind, "target": target, "visited_at": format_time(visited_at),
                            "scores": scores, "notes": notes}, sort_keys=True, separators=(",", ":"))
    request_hash = "0x" + hashlib.sha256(canonical.encode()).hexdigest()
    existing = evaluations.get_evaluation(session=session, evaluation_id=evaluation_id)
    if existing is not None:
        if existing.request_hash != request_hash:
            raise EvaluationConflict(f"evaluation_id {evaluation_id} is used by a different evaluation")
        return existing, False
    subject = evaluation_subject(evaluation_id)
    notes_hash = text_hash(settings, notes)
    if notes:
        keep_text(session, settings, ticket_id=subject, text=notes, kind="evaluation_note", actor=evaluator)
    data = {"target_kind": target_kind, "target": target, "visited_at": format_time(visited_at),
            "evaluator": evaluator, "notes_hash": notes_hash, **{f"score.{k}": str(v) for k, v in scores.items()}}
    m = new_milestone(subject, None, EVALUATION_FILED, datetime.now(UTC), data)
    row = Evaluation(id=evaluation_id, target_kind=target_kind, target=target,
                     month=visited_at.astimezone(UTC).strftime("%Y-%m"), visited_at=format_time(visited_at),
                     scores=json.dumps(scores, sort_keys=True), evaluator=evaluator, notes_hash=notes_hash,
                     request_hash=request_hash, leaf=m.leaf, filed_at=datetime.now(UTC))
    try:
        evaluations.file_evaluation(session=session, row=row, subject=subject, milestone=MilestoneView(
            seq=m.seq, kind=m.kind, at=format_time(m.at), data=m.data, prev=m.prev, leaf=m.leaf))
    except IntegrityError:
        session.rollback()  # the same id filed at the same moment by a retry: answer as a retry
        stored = evaluations.get_evaluation(session=session, evaluation_id=evaluation_id)
        if stored is None or stored.request_hash != request_hash:
            raise EvaluationConflict(f"evaluation_id {evaluation_id} is used by a different evaluation") from None
        return stored, False
    return row, True
