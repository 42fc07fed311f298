"""The Temporal worker entry point: `python worker.py` (or `qualitrail worker`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.analysis import AnalysisActivities
from activities.anchoring import build_chain_activities
from activities.feedback import FeedbackActivities
from activities.governance import GovernanceActivities
from activities.notify import Notifier, SmtpConfig
from activities.observers import ObserverActivities
from activities.points import PointsActivities
from activities.report import ReportActivities
from activities.spot_check import SpotCheckActivities
from activities.staffing import StaffingActivities
from activities.tickets import TicketActivities
from activities.veto import VetoActivities
from domain.policy import load_policy
from observability.json_logs import configure_json_logging
from observability.worker_metrics import start_worker_metrics
from readmodel.db import init_db
from settings import Settings, bound_recursion_limit, get_settings
from temporal.client import connect_temporal
from temporal.runtime import temporal_runtime
from workflows.analysis import DailyAnalysisWorkflow, ensure_analysis_schedule
from workflows.anchoring import EVIDENCE_WORKFLOWS, ensure_anchoring_started
from workflows.feedback import FeedbackSweepWorkflow, FeedbackTriageWorkflow, ensure_feedback_sweep_schedule
from workflows.joint_meeting import JointMeetingWorkflow
from workflows.observers import ObserverKickoffWorkflow, ObserverRoundWorkflow, ensure_observer_schedule
from workflows.points import PointsMonthWorkflow, ensure_points_schedule
from workflows.report import QualityReportWorkflow, ensure_report_schedule
from workflows.spot_check import SpotCheckKickoffWorkflow, SpotCheckMonthWorkflow, ensure_spot_check_schedule
from workflows.staffing import DailyStaffingWorkflow, ensure_staffing_schedule
from workflows.supplier import SupplierWorkflow
from workflows.ticket import TicketWorkflow
from workflows.veto import TeamVetoWorkflow, VetoScanWorkflow, ensure_veto_schedule

log = logging.getLogger("qualitrail.worker")

WORKFLOWS: list[type] = [TicketWorkflow, JointMeetingWorkflow, SupplierWorkflow, PointsMonthWorkflow,
                         TeamVetoWorkflow, VetoScanWorkflow, SpotCheckKickoffWorkflow, SpotCheckMonthWorkflow,
                         QualityReportWorkflow, DailyAnalysisWorkflow, DailyStaffingWorkflow, FeedbackTriageWorkflow,
                         FeedbackSweepWorkflow, ObserverRoundWorkflow, ObserverKickoffWorkflow, *EVIDENCE_WORKFLOWS]

# Our pure modules (and the keccak they use) are passed through the sandbox instead of re-imported.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("domain", "Crypto", "zoneinfo")
)


def build_activities(settings: Settings) -> list[Callable[..., Any]]:
    tickets = TicketActivities(settings.db_url)
    notifier = Notifier(settings.notify_webhook_url, db_url=settings.db_url, smtp=SmtpConfig.from_settings(settings))
    acts: list[Callable[..., Any]] = [tickets.record_ticket, tickets.find_repeat_complaint, notifier.notify]
    acts += GovernanceActivities(settings.db_url).all()
    acts.append(PointsActivities(settings.db_url, settings.policy_file).close_points_month)
    acts.append(ReportActivities(settings.db_url, settings.policy_file).publish_quality_report)
    veto = VetoActivities(settings.db_url, settings.policy_file, settings.task_queue)
    acts += [veto.record_veto, veto.scan_major_complaints]
    spot = SpotCheckActivities(settings.db_url, settings.policy_file, settings.rpc_url, settings.chain_confirmations,
                               settings.task_queue)
    acts += [spot.spot_check_policy, spot.find_seed_block, spot.draw_spot_check_sample, spot.record_spot_check,
             spot.report_major_finding]
    analysis = AnalysisActivities(settings.db_url, settings.policy_file)
    acts += [analysis.analyse_root_causes, analysis.refresh_case_library]
    staffing = StaffingActivities(settings.db_url, settings.policy_file)
    acts += [staffing.plan_staffing, staffing.find_shortfalls]
    feedback = FeedbackActivities(settings)
    acts += [feedback.triage_feedback, feedback.open_feedback_ticket, feedback.attach_feedback,
             feedback.record_feedback_triage, feedback.start_untriaged_feedback]
    observers = ObserverActivities(settings)
    acts += [observers.start_observer_round, observers.record_observer_review, observers.record_observer_round]
    acts += build_chain_activities(settings)
    return acts


def new_worker(client: Client, settings: Settings, *, activities: Sequence[Callable[..., Any]] | None = None,
               task_queue: str | None = None, max_cached_workflows: int = 1000) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=list(activities if activities is not None else build_activities(settings)),
        activity_executor=concurrent.futures.ThreadPoolExecutor(max_workers=32),
        workflow_runner=SANDBOX,
        max_cached_workflows=max_cached_workflows,
    )


async def run_worker(settings: Settings) -> None:
    load_policy(settings.policy_file)  # a malformed policy file stops the worker at start
    init_db(settings.db_url)
    start_worker_metrics(settings, settings.worker_metrics_port)
    client = await connect_temporal(settings, attempts=30, runtime=temporal_runtime(settings.temporal_metrics_port))
    worker = new_worker(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        await ensure_anchoring_started(client, settings)
        await ensure_points_schedule(client, settings.task_queue)
        await ensure_spot_check_schedule(client, settings.task_queue)
        await ensure_report_schedule(client, settings.task_queue)
        await ensure_feedback_sweep_schedule(client, settings.task_queue)
        await ensure_observer_schedule(client, settings.task_queue)
        await ensure_veto_schedule(client, settings.task_queue,
                                   load_policy(settings.policy_file).performance.veto.scan_every_hours)
        await ensure_analysis_schedule(client, settings.task_queue,
                                       load_policy(settings.policy_file).analysis.run_hour_utc)
        await ensure_staffing_schedule(client, settings.task_queue,
                                       load_policy(settings.policy_file).staffing.run_hour_utc)
        log.info("worker polling task queue %s", settings.task_queue)
        await stop.wait()


def main() -> None:
    bound_recursion_limit()  # every module the worker runs is imported by now
    settings = get_settings()
    if settings.log_format == "json":
        configure_json_logging(settings.log_level)
    else:
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    code = 0
    try:
        asyncio.run(run_worker(settings))
    except Exception:
        log.exception("worker failed")
        code = 1
    # Skip interpreter teardown: the Temporal core can abort at exit (sdk-python #300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
