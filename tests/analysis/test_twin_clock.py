"""The twin reads the test server's clock seldom and bounds it in between: the real server's time
is always within those bounds, across skips through firing timers and real time passing."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from cli.twin_run import _ServerClock


@workflow.defn(sandboxed=False)
class Ticking:
    """Timers every few minutes of server time, so skips jump from one firing timer to the next."""

    @workflow.run
    async def run(self, minutes: list[int]) -> None:
        for n in range(100_000):  # ended by the test
            await workflow.sleep(timedelta(minutes=minutes[n % len(minutes)]))


async def test_the_server_time_stays_between_the_clocks_bounds(own_env: WorkflowEnvironment) -> None:
    rng = random.Random(7)
    queue = f"clock-{uuid.uuid4()}"
    async with Worker(own_env.client, task_queue=queue, workflows=[Ticking],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        handles = [await own_env.client.start_workflow(
            Ticking.run, [rng.randint(1, 9) for _ in range(40)], id=f"tick-{uuid.uuid4()}", task_queue=queue)
            for _ in range(5)]
        clock = _ServerClock(own_env)
        await clock.read()
        checked = 0
        for step in range(30):
            if step % 10 == 9:
                await clock.read()
            await clock.skip(timedelta(seconds=rng.choice([0.2, 5, 61, 600, 3700])))
            await asyncio.sleep(rng.choice([0, 0.05, 0.3]))  # the driver's own work between skips
            actual = await own_env.get_current_time()
            assert clock.earliest <= actual <= clock.latest(), (step, clock.earliest, actual, clock.latest())
            checked += 1
        assert checked == 30
        for handle in handles:
            await handle.terminate("test over")
