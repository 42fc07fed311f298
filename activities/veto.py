"""Activities of the quality veto: record a team-year, and find and report major complaints."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import activity

from domain.encoding import format_time, parse_time
from domain.policy import load_policy
from domain.veto import RecordVetoInput, ScanRequest, VetoInput, year_of
from readmodel import veto
from readmodel.db import session_scope
from services.veto import report_major_complaint

log = logging.getLogger("qualitrail.veto")


class VetoActivities:
    """Bound to one read model, the policy file (read at each scan) and the task queue of the veto workflows."""

    def __init__(self, db_url: str, policy_file: Path, task_queue: str) -> None:
        self.db_url = db_url
        self.policy_file = policy_file
        self.task_queue = task_queue

    @activity.defn(name="record_veto")
    def record_veto(self, record: RecordVetoInput) -> None:
        """Upserts the team-year and appends its new milestones (idempotent on subject + seq)."""
        with session_scope(self.db_url) as session:
            veto.record_veto(session=session, record=record)

    @activity.defn(name="scan_major_complaints")
    async def scan_major_complaints(self, request: ScanRequest) -> int:
        """Reports every resolution breach of a complaint category in the look-back window to its
        team-year; overlapping windows are harmless, each complaint counts once. Returns how many."""
        policy = load_policy(self.policy_file)
        until = parse_time(request.until) if request.until else datetime.now(UTC)
        since = until - timedelta(hours=policy.performance.veto.scan_lookback_hours)
        with session_scope(self.db_url) as session:
            found = veto.resolution_breaches(session=session, since=format_time(since), until=format_time(until),
                                             categories=policy.performance.veto.major_complaint_categories)
        client = activity.client()
        reported = 0
        for complaint in found:
            rule = policy.veto_policy(complaint.team)
            year = year_of(parse_time(complaint.at), rule.timezone)
            if await report_major_complaint(client, complaint, VetoInput(complaint.team, year, rule), self.task_queue):
                reported += 1
            else:
                log.warning("veto year %s of %s is closed; %s not counted", year, complaint.team, complaint.source_key)
            activity.heartbeat(reported)
        return reported
