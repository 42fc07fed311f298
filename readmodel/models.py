"""Read-model tables. Written only through readmodel/crud.py (by activities)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Named in the SLA board's queries (readmodel/board.py; SQLite: INDEXED BY), decision 030.
BOARD_INDEX = "ix_ticket_board"
BOARD_FIRST_INDEX = "ix_ticket_board_first"
BOARD_RESOLUTION_INDEX = "ix_ticket_board_resolution"


# A ticket as the service desk lists it; the workflow is the source of truth.
class Ticket(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    status: str = Field(index=True, max_length=32)
    priority: str = Field(index=True, max_length=8)
    category: str = Field(index=True, max_length=64)
    team: str = Field(index=True, max_length=64)
    channel: str = Field(max_length=16)
    supplier: str | None = Field(default=None, index=True, max_length=64)
    assignee: str | None = Field(default=None, max_length=128)
    # The server-side match key (domain.milestones.customer_match_hash), the same for every ticket of a
    # customer: never served. The per-ticket public hash is in the `opened` milestone only.
    customer_ref_hash: str = Field(index=True, max_length=80)
    summary: str = Field(max_length=200)
    description: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(index=True)
    updated_at: datetime
    first_response_due: str | None = Field(default=None, max_length=40)
    resolution_due: str | None = Field(default=None, max_length=40)
    first_response_outcome: str = Field(default="pending", max_length=16)
    resolution_outcome: str = Field(default="pending", max_length=16)
    breached: bool = Field(default=False, index=True)
    repeat_of: str | None = Field(default=None, max_length=64)
    rating: int | None = None
    resolution_code: str | None = Field(default=None, max_length=64)
    root_cause: str | None = Field(default=None, max_length=64)
    milestone_count: int = 0

    __table_args__ = (
        # The SLA board (readmodel/board.py) reads the open tickets from these indexes alone; each
        # starts with the status, so it reads only the open tickets' range however many are closed,
        # and holds every column of the near-breach test and the id of the rows to show.
        # Counts by team (in index order) and the list of teams:
        Index(BOARD_INDEX, "status", "team", "priority", "breached", "first_response_outcome",
              "first_response_due", "resolution_outcome", "resolution_due", "id"),
        # The tickets nearest breach, walked in deadline order and stopped at the board's limit:
        # those waiting for their first response by its deadline, the others by the resolution's.
        Index(BOARD_FIRST_INDEX, "status", "breached", "first_response_outcome", "first_response_due", "id",
              "priority", "resolution_outcome", "resolution_due", "team"),
        Index(BOARD_RESOLUTION_INDEX, "status", "breached", "resolution_due", "id", "first_response_outcome",
              "first_response_due", "priority", "resolution_outcome", "team"),
    )


# One link of a subject's hash chain, plus where it was anchored once it is.
class Milestone(SQLModel, table=True):
    # kind + time: a month's closings, breaches and points events without reading every milestone.
    __table_args__ = (UniqueConstraint("subject", "seq", name="uq_milestone_subject_seq"),
                      Index("ix_milestone_kind_at", "kind", "at"))

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, max_length=64)
    seq: int
    kind: str = Field(max_length=40)
    at: str = Field(max_length=40)
    prev: str = Field(max_length=66)
    leaf: str = Field(unique=True, max_length=66)
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON of the data map
    batch_no: int | None = Field(default=None, index=True)
    proof: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON list of 0x-hex


# One Merkle batch; batch_no is assigned by the anchoring workflow and never reused.
class AnchorBatch(SQLModel, table=True):
    batch_no: int = Field(primary_key=True)
    batch_id: str = Field(unique=True, max_length=66)
    root: str = Field(index=True, max_length=66)
    leaf_count: int
    status: str = Field(default="prepared", max_length=16)  # prepared | anchored
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = None
    block_hash: str | None = Field(default=None, max_length=66)
    created_at: datetime
    anchored_at: datetime | None = None
    # Times this batch was found gone from the chain (reorg, Anvil restored from an older state)
    # and anchored again under the same batch id and root.
    reanchor_count: int = 0
    # How the tree's leaves are made from the milestone leaves (domain.milestones.BATCH_FORMATS).
    # Rows from before formats existed are format 1, which the server default gives them.
    format: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


# A compensation voucher as issued on chain (the contract is the source of truth).
class Voucher(SQLModel, table=True):
    claim_id: str = Field(primary_key=True, max_length=100)
    ticket_id: str = Field(index=True, max_length=64)
    breach: str = Field(max_length=32)
    voucher_id: int = Field(index=True)
    amount: int
    currency: str = Field(default="", max_length=3)
    tx_hash: str = Field(max_length=66)
    block_number: int
    redeemed: bool = False
    redeem_tx_hash: str | None = Field(default=None, max_length=66)
    # What was sent to the contract, kept so a voucher lost in a reorg can be issued again as is.
    claim_hash: str = Field(default="", index=True, max_length=66)  # keccak256(utf8(claim_id))
    customer_ref: str = Field(default="", max_length=66)
    expires_at: int = 0
    breach_leaf: str = Field(default="", max_length=66)
    root: str = Field(default="", max_length=66)
    block_hash: str = Field(default="", max_length=66)
    issued_at: datetime | None = None
    redeemed_by: str | None = Field(default=None, max_length=64)  # API caller's key id, not a key
    redeemed_at: datetime | None = None
    redeem_block_number: int | None = None
    redeem_block_hash: str | None = Field(default=None, max_length=66)
