"""Activities of the monthly spot checks: the seed block from the chain, the draw, the record."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from chain.rpc import connect
from domain.encoding import parse_time
from domain.policy import load_policy
from domain.spot_check import (
    MajorFindingInput,
    RecordSpotCheckInput,
    SampleDrawn,
    SampleRequest,
    SeedBlock,
    SpotCheckPolicy,
)
from domain.veto import MajorComplaint, VetoInput, year_of
from readmodel import spot_check
from readmodel.db import session_scope
from services.veto import report_major_complaint


class SpotCheckActivities:
    """Bound to one read model, the policy file and the chain the seed comes from."""

    def __init__(self, db_url: str, policy_file: Path, rpc_url: str, confirmations: int = 0,
                 task_queue: str = "") -> None:
        self.db_url = db_url
        self.policy_file = policy_file
        self.rpc_url = rpc_url
        self.confirmations = confirmations
        self.task_queue = task_queue  # of the veto workflows a major finding is reported to

    @activity.defn(name="spot_check_policy")
    def spot_check_policy(self) -> SpotCheckPolicy:
        """The ``[spot_check]`` policy as it is when a month's check starts (frozen into its input)."""
        return load_policy(self.policy_file).spot_check.to_policy()

    @activity.defn(name="find_seed_block")
    def find_seed_block(self, not_before: str) -> SeedBlock:
        """The first block with a timestamp at or after ``not_before``, once confirmed; until the chain
        has one, a retryable error (the workflow's retries wait for it)."""
        w3 = connect(self.rpc_url)
        target = int(parse_time(not_before).timestamp())
        head = w3.eth.get_block("latest")
        if int(head["timestamp"]) < target:
            raise ApplicationError(f"no block at or after {not_before} yet (head {head['number']})")
        low, high = 0, int(head["number"])
        while low < high:  # first block with timestamp >= target
            mid = (low + high) // 2
            if int(w3.eth.get_block(mid)["timestamp"]) >= target:
                high = mid
            else:
                low = mid + 1
        if int(head["number"]) - low < self.confirmations:
            raise ApplicationError(f"seed block {low} has fewer than {self.confirmations} confirmations")
        block = w3.eth.get_block(low)
        return SeedBlock(number=low, hash="0x" + bytes(block["hash"]).hex(), timestamp=int(block["timestamp"]))

    @activity.defn(name="draw_spot_check_sample")
    def draw_spot_check_sample(self, request: SampleRequest) -> SampleDrawn:
        """Draws and records the month's sample and its milestone once; a retry returns the same."""
        with session_scope(self.db_url) as session:
            return spot_check.draw_and_record(session=session, request=request)

    @activity.defn(name="record_spot_check")
    def record_spot_check(self, record: RecordSpotCheckInput) -> None:
        """Upserts the tasks and the summary and appends milestones (idempotent on subject + seq)."""
        with session_scope(self.db_url) as session:
            spot_check.record_spot_check(session=session, record=record)

    @activity.defn(name="report_major_finding")
    async def report_major_finding(self, finding: MajorFindingInput) -> bool:
        """Counts a finding of a major severity (policy ``major_finding_severities``) against the
        ticket's team in the veto, once per ticket and month; returns whether it counts."""
        policy = load_policy(self.policy_file)
        if finding.severity not in policy.performance.veto.major_finding_severities:
            return False
        rule = policy.veto_policy(finding.team)
        complaint = MajorComplaint(team=finding.team, source_key=f"{finding.ticket_id}:spot_check:{finding.month}",
                                   kind="spot_check_finding", ticket_id=finding.ticket_id, at=finding.at)
        year = year_of(parse_time(finding.at), rule.timezone)
        return await report_major_complaint(activity.client(), complaint, VetoInput(finding.team, year, rule),
                                            self.task_queue or activity.info().task_queue)
