"""Activities of the observer panel's quarterly round: who is invited, what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from domain.encoding import parse_time
from domain.observers import ReviewRecord, RoundPolicy, RoundRecord, RoundStarted
from domain.policy import load_policy
from readmodel import observers
from readmodel.db import session_scope
from settings import Settings


class ObserverActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn(name="start_observer_round")
    def start_observer_round(self, quarter: str) -> RoundStarted:
        """The policy of the day and the active observers (at most the policy's cap), oldest first."""
        policy = load_policy(self.settings.policy_file)
        o = policy.observers
        with session_scope(self.settings.db_url) as session:
            active = observers.active_observers(session=session, at=datetime.now(UTC), limit=o.max_active)
            ids = [a.id for a in active]
            observers.record_round(session=session, record=RoundRecord(quarter, "collecting", ids, 0))
        return RoundStarted(RoundPolicy(o.review_days, list(o.reminder_days), o.meeting_after_days,
                                        policy.performance.veto.quality_committee), ids)

    @activity.defn(name="record_observer_review")
    def record_observer_review(self, record: ReviewRecord) -> None:
        """Stores one review (idempotent on quarter, observer and process)."""
        with session_scope(self.settings.db_url) as session:
            observers.record_review(session=session, quarter=record.quarter, review=record.review,
                                    at=parse_time(record.at))

    @activity.defn(name="record_observer_round")
    def record_observer_round(self, record: RoundRecord) -> None:
        """Writes the round's state and, at the end, the meeting record (idempotent)."""
        with session_scope(self.settings.db_url) as session:
            observers.record_round(session=session, record=record)
