"""Activities of the monthly spot checks: the seed block from the chain, the draw, the record."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from chain.rpc import connect
from domain.encoding import parse_time
from domain.policy import load_policy
from domain.spot_check import RecordSpotCheckInput, SampleDrawn, SampleRequest, SeedBlock, SpotCheckPolicy
from readmodel import spot_check
from readmodel.db import session_scope


class SpotCheckActivities:
    """Bound to one read model, the policy file and the chain the seed comes from."""

    def __init__(self, db_url: str, policy_file: Path, rpc_url: str, confirmations: int = 0) -> None:
        self.db_url = db_url
        self.policy_file = policy_file
        self.rpc_url = rpc_url
        self.confirmations = confirmations

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
