"""Activities of feedback triage: decide, open the ticket or attach to the open one, record, sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from domain.encoding import format_time
from domain.feedback import TriageDecision, TriageFacts, summary_of, triage
from domain.policy import load_policy
from domain.tickets import NoteInput, TicketView
from readmodel import feedback as store
from readmodel.db import session_scope
from readmodel.feedback_models import Feedback
from services.feedback import open_feedback, start_triage
from services.service_record import keep_text
from services.tickets import new_ticket_input, start_ticket
from settings import Settings
from workflows.names import STATE_QUERY

# Feedback channels are ticket channels, but for an observer's (who writes on the web).
TICKET_CHANNEL = {"web": "web", "app": "app", "branch": "branch", "email": "email", "observer": "web"}


class FeedbackActivities:
    """Bound to the settings (read model, policy file, secret for the sealed texts)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _row(self, session: Session, ref: str) -> Feedback:
        row = store.get_feedback(session=session, ref=ref)
        if row is None:
            raise LookupError(f"feedback {ref} is not stored")
        return row

    @activity.defn(name="triage_feedback")
    def triage_feedback(self, ref: str) -> TriageDecision:
        """What the feedback becomes under the policy of the day (already triaged: what it became)."""
        policy = load_policy(self.settings.policy_file)
        with session_scope(self.settings.db_url) as session:
            row = self._row(session, ref)
            if row.outcome is not None:
                ticket = (row.attached_to or "") if row.outcome == "attached" else row.ticket_id
                return TriageDecision(ref, row.outcome, row.kind_asked, row.rule or "", row.category or "",
                                      row.priority or "", row.team or "", ticket, row.spam_score)
            text = open_feedback(self.settings, row)
            observer = row.observer_id is not None
            open_ticket = None if observer else store.open_ticket_of(session=session, customer_key=row.customer_key)
            facts = TriageFacts(f"{text.get('subject', '')}\n{text['text']}", row.kind_asked, row.spam_score,
                                open_ticket, observer)
            return triage(ref, facts, policy.feedback, row.ticket_id, policy.observers)

    @activity.defn(name="open_feedback_ticket")
    async def open_feedback_ticket(self, decision: TriageDecision) -> str:
        """Opens the ticket the feedback became (its id fixed at intake, so a retry opens it once)."""
        policy = load_policy(self.settings.policy_file)
        with session_scope(self.settings.db_url) as session:
            row = self._row(session, decision.ref)
            text = open_feedback(self.settings, row)
            description = f"{text['subject']}\n{text['text']}".strip() if text.get("subject") else text["text"]
            opened_at = row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=UTC)
            ticket = new_ticket_input(
                self.settings, policy, ticket_id=decision.ticket_id, customer_ref=text["contact"],
                channel=TICKET_CHANNEL.get(row.channel, "web"), category=decision.category,
                priority=decision.priority, team=decision.team, summary=summary_of(text.get("subject") or text["text"]),
                description=description, supplier=None, request_hash=row.text_hash,
                opened_by=f"feedback:{row.submitted_by}", opened_at=opened_at)
            # The text first, so the ticket's description hash always has its text.
            keep_text(session, self.settings, ticket_id=decision.ticket_id, text=description, kind="description",
                      actor="customer")
        await start_ticket(activity.client(), self.settings, ticket)
        return decision.ticket_id

    @activity.defn(name="attach_feedback")
    async def attach_feedback(self, decision: TriageDecision) -> bool:
        """Adds the feedback to the customer's open ticket as a customer note, once; False when that
        ticket no longer takes notes (closed meanwhile): the caller opens a new ticket instead."""
        with session_scope(self.settings.db_url) as session:
            row = self._row(session, decision.ref)
            text = open_feedback(self.settings, row)["text"]
            digest, _ = keep_text(session, self.settings, ticket_id=decision.ticket_id, text=text, kind="note",
                                  actor="customer")
        handle = activity.client().get_workflow_handle(decision.ticket_id)
        try:
            view = await handle.query(STATE_QUERY, format_time(datetime.now(UTC)), result_type=TicketView)
            if any(digest in m.data.values() for m in view.milestones):
                return True  # a retry: the note is there
            await handle.execute_update("add_note", NoteInput(digest, "customer"), result_type=TicketView)
        except (WorkflowUpdateFailedError, RPCError):
            return False
        return True

    @activity.defn(name="record_feedback_triage")
    def record_feedback_triage(self, decision: TriageDecision) -> None:
        """Writes the outcome onto the stored feedback (idempotent)."""
        with session_scope(self.settings.db_url) as session:
            store.record_triage(session=session, decision=decision)

    @activity.defn(name="start_untriaged_feedback")
    async def start_untriaged_feedback(self, older_than_seconds: float) -> int:
        """Starts the triage of feedback stored while Temporal was unreachable; returns how many."""
        before = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
        with session_scope(self.settings.db_url) as session:
            refs = store.untriaged(session=session, before=before)
        started = 0
        for ref in refs:
            started += await start_triage(activity.client(), self.settings, ref)
        return started
