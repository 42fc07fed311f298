"""Bodies and answers of the supplier routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from api.schemas import ID_PATTERN as TICKET_ID_PATTERN
from api.schemas import RequestBody

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{2,99}$"
# Ids are checked before they reach Temporal, which would refuse an odd one as a server error.
SupplierId = Annotated[str, Path(pattern=CODE_PATTERN, description="supplier id")]
TicketId = Annotated[str, Path(pattern=TICKET_ID_PATTERN, description="ticket id")]


class SupplierCreate(RequestBody):
    supplier_id: str = Field(pattern=CODE_PATTERN, description="the id tickets use in their `supplier` field")
    name: str = Field(min_length=1, max_length=200)
    contract_value: int = Field(gt=0, le=10**15, description="minor units of the currency")
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class DeductionBody(RequestBody):
    incident_id: str = Field(pattern=ID_PATTERN, description="idempotency key: one deduction per incident")
    severity: str = Field(pattern=CODE_PATTERN)
    ticket_id: str = Field("", max_length=64)
    reason: str = Field("", max_length=500)
    amount: int = Field(0, ge=0, le=10**15, description="0: by the policy's schedule for the severity")


class AppealBody(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)


class DecisionBody(RequestBody):
    upheld: bool = Field(description="true: the exit continues; false: appeal granted, exit withdrawn")
    reason: str = Field(min_length=1, max_length=2000)


class ReassignBody(RequestBody):
    to_team: str = Field(pattern=CODE_PATTERN)
    reason: str = Field("supplier exited", min_length=1, max_length=500)


class SupplierRow(BaseModel):
    id: str
    name: str
    contract_value: int
    currency: str
    status: str
    total: int
    deduction_count: int
    exit_started_at: str | None
    appeal_due: str | None


class SupplierPage(BaseModel):
    data: list[SupplierRow]
    count: int
    offset: int
    limit: int


class DeductionRow(BaseModel):
    incident_id: str
    severity: str
    amount: int
    ticket_id: str
    at: str
    leaf: str
    after_exit: bool
