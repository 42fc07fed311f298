"""How a ticket looks: the opening milestone, its clocks as views, and the view right after opening.

Pure code shared by the ticket workflow (its state query) and the API: a create answers with the
ticket as opened without waiting for the workflow's first task, because everything in it is a
function of the request, the policy and the opening time (rule 1's deadlines included).
"""

from __future__ import annotations

from datetime import datetime

from domain.encoding import format_time
from domain.milestones import MilestoneKind, new_milestone
from domain.sla_clock import FIRST_RESPONSE, RESOLUTION, SlaClock
from domain.tickets import ClockView, MilestoneView, TicketInput, TicketPolicy, TicketStatus, TicketView

__all__ = ["clock_view", "opened_data", "opening_clocks", "opening_view", "target_seconds"]


def target_seconds(policy: TicketPolicy, priority: str, clock: str) -> float:
    """The target of ``clock`` for a ticket of ``priority`` under ``policy``."""
    targets = policy.targets[priority]
    return targets.first_response_seconds if clock == FIRST_RESPONSE else targets.resolution_seconds


def opening_clocks(policy: TicketPolicy, priority: str, at: datetime) -> dict[str, SlaClock]:
    """Both clocks of a ticket opened at ``at``, running."""
    return {name: SlaClock.start(name, target_seconds(policy, priority, name), at) for name in (FIRST_RESPONSE,
                                                                                               RESOLUTION)}


def opened_data(ticket: TicketInput) -> dict[str, str]:
    """The data of the ``opened`` milestone (hashes and codes only: it goes on chain)."""
    data = {"channel": ticket.channel, "category": ticket.category, "priority": ticket.priority,
            "team": ticket.team, "customer_ref_hash": ticket.customer_ref_hash, "supplier": ticket.supplier or ""}
    if ticket.description_hash:  # absent from older inputs: their leaves are unchanged on replay
        data["text_hash"] = ticket.description_hash
    return data


def clock_view(clock: SlaClock, policy: TicketPolicy, now: datetime) -> ClockView:
    """A clock as queries and answers show it at ``now``."""
    cal = policy.calendar
    deadline = clock.deadline(cal)
    return ClockView(
        name=clock.name, target_seconds=clock.target_seconds,
        elapsed_seconds=round(clock.elapsed(cal, now), 3),
        remaining_seconds=round(clock.remaining(cal, now), 3),
        paused_seconds=round(clock.paused_total(now), 3),
        deadline=format_time(deadline) if deadline else None,
        outcome=clock.outcome(cal, now), running=clock.running)


def opening_view(ticket: TicketInput, at: datetime) -> TicketView:
    """The ticket as its workflow holds it once opened at ``at``, before anything else happened."""
    m = new_milestone(ticket.ticket_id, None, MilestoneKind.OPENED, at, opened_data(ticket))
    clocks = opening_clocks(ticket.policy, ticket.priority, at)
    return TicketView(
        ticket_id=ticket.ticket_id, status=TicketStatus.OPEN.value, priority=ticket.priority,
        category=ticket.category, team=ticket.team, channel=ticket.channel, supplier=ticket.supplier, assignee=None,
        created_at=format_time(at), clocks=[clock_view(c, ticket.policy, at) for c in clocks.values()],
        milestones=[MilestoneView(seq=m.seq, kind=m.kind, at=format_time(m.at), data=dict(m.data), prev=m.prev,
                                  leaf=m.leaf)],
        breaches=[], repeat_of=None, rating=None, resolution_code=None, root_cause=None,
        request_hash=ticket.request_hash, token_version=1)
