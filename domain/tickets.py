"""Ticket types shared by the API, the ticket workflow and its activities.

Plain dataclasses so Temporal's default converter carries them and fields can be added later
without breaking running workflows (new fields always get defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, get_args

from domain.business_calendar import CalendarSpec


class TicketStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({TicketStatus.CLOSED, TicketStatus.CANCELLED})
# Where feedback arrives and how urgent a ticket is: the one list each, for the policy and the API.
Channel = Literal["app", "web", "branch", "phone", "email"]
Priority = Literal["P1", "P2", "P3", "P4"]
CHANNELS: tuple[str, ...] = get_args(Channel)
PRIORITIES: tuple[str, ...] = get_args(Priority)


@dataclass
class Targets:
    first_response_seconds: float
    resolution_seconds: float


@dataclass
class TicketPolicy:
    """The slice of the policy file one ticket needs, frozen into its workflow input.

    Carrying it in the input keeps the workflow deterministic: a policy change reaches a running
    ticket only through the ``apply_policy`` update, which is recorded in its history.
    """

    targets: dict[str, Targets]
    calendar: CalendarSpec = field(default_factory=CalendarSpec)
    warning_levels: list[int] = field(default_factory=lambda: [75, 90])
    pause_statuses: list[str] = field(default_factory=lambda: [TicketStatus.WAITING_ON_CUSTOMER.value])
    reopen_window_seconds: float = 7 * 24 * 3600
    auto_close_seconds: float = 72 * 3600
    repeat_complaint_seconds: float = 30 * 24 * 3600
    department_head: str = ""
    # Voucher amounts in minor units: {"first_response": {"P1": 2000, ...}, "resolution": {...}}
    compensation: dict[str, dict[str, int]] = field(default_factory=dict)
    voucher_valid_seconds: float = 90 * 24 * 3600
    # Severity of the deduction a breach on a supplier's ticket reports to the supplier's workflow.
    supplier_breach_severity: str = "major"


@dataclass
class TicketInput:
    ticket_id: str
    customer_ref_hash: str  # per-ticket keyed hash (public evidence): the workflow never needs the raw reference
    channel: str
    category: str
    priority: str
    team: str
    summary: str
    description: str
    policy: TicketPolicy
    supplier: str | None = None
    request_hash: str = ""  # hash of the create request, for idempotent retries
    # Server-side key that is the same for all tickets of a customer (repeat complaints); never in a
    # milestone. Empty for tickets started before it existed: their customer_ref_hash was that key.
    customer_match_hash: str = ""
    opened_by: str = ""
    compensate: bool = True
    # When the desk opened it (the API's clock); empty in tickets started before the field existed,
    # which take the workflow's start time. The clocks run from this instant.
    opened_at: str = ""
    # Keyed hash of the description, kept in the service record; the OPENED milestone carries it.
    description_hash: str = ""


@dataclass
class AssignInput:
    assignee: str
    actor: str = ""


@dataclass
class NoteInput:
    text_hash: str  # salted hash computed by the API: note text is personal data
    actor: str = ""


@dataclass
class RespondInput:
    text_hash: str = ""
    actor: str = ""


@dataclass
class ActorInput:
    actor: str = ""
    reason: str = ""


@dataclass
class PriorityInput:
    priority: str
    actor: str = ""
    reason: str = ""


@dataclass
class ResolveInput:
    resolution_code: str
    root_cause: str
    actor: str = ""
    note: str = ""


@dataclass
class ConfirmInput:
    rating: int
    comment: str = ""
    comment_hash: str = ""  # keyed hash of the comment (the text stays in the service record)


@dataclass
class EscalateInput:
    to_team: str
    reason: str
    department_head: str = ""
    actor: str = ""


@dataclass
class RevokeTokenInput:
    actor: str = ""


@dataclass
class PolicyInput:
    policy: TicketPolicy
    actor: str = ""


@dataclass
class MilestoneView:
    seq: int
    kind: str
    at: str
    data: dict[str, str]
    prev: str
    leaf: str


@dataclass
class ClockView:
    name: str
    target_seconds: float
    elapsed_seconds: float
    remaining_seconds: float
    paused_seconds: float
    deadline: str | None
    outcome: str
    running: bool


@dataclass
class VoucherView:
    breach: str
    claim_id: str
    voucher_id: int
    amount: int
    tx_hash: str
    redeemed: bool = False
    redeem_tx_hash: str = ""


@dataclass
class TicketView:
    ticket_id: str
    status: str
    priority: str
    category: str
    team: str
    channel: str
    supplier: str | None
    assignee: str | None
    created_at: str
    clocks: list[ClockView]
    milestones: list[MilestoneView]
    breaches: list[str]
    repeat_of: str | None
    rating: int | None
    resolution_code: str | None
    root_cause: str | None
    request_hash: str
    token_version: int
    vouchers: list[VoucherView] = field(default_factory=list)
    auto_close_at: str | None = None
    reopen_until: str | None = None


# Activity inputs and results (activities are called by name so workflow modules never import them).


@dataclass
class RecordTicketInput:
    ticket_id: str
    snapshot: TicketView
    customer_ref_hash: str  # the server-side match key (TicketInput.customer_match_hash), not the public hash
    summary: str
    description: str
    milestones: list[MilestoneView]


@dataclass
class RepeatQuery:
    ticket_id: str
    customer_ref_hash: str  # the server-side match key, as in RecordTicketInput
    category: str
    opened_at: str
    window_seconds: float


@dataclass
class Notification:
    idempotency_key: str
    recipient: str
    subject_id: str
    kind: str
    message: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class AnchorWait:
    leaf: str


@dataclass
class AnchoredLeaf:
    leaf: str
    root: str
    proof: list[str]
    tx_hash: str
    block_number: int


@dataclass
class VoucherRequest:
    ticket_id: str
    breach: str  # "first_response" | "resolution"
    claim_id: str
    customer_ref_hash: str
    amount: int
    expires_at: int  # unix seconds
    leaf: str


@dataclass
class VoucherResult:
    voucher_id: int
    tx_hash: str
    block_number: int
