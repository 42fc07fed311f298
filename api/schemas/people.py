"""Bodies and answers of the directory of people and their alert inboxes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from api.schemas import ID_PATTERN, RequestBody

PersonId = Annotated[str, Path(pattern=ID_PATTERN, description="person id, as the policy names heads")]
PersonRole = Literal["agent", "team_head", "quality_committee", "quality", "reviewer"]
# Enough to refuse what is plainly not an address; the mail server has the last word.
EMAIL_PATTERN = r"^[^@\s<>,;:\"\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"


class PersonBody(RequestBody):
    display_name: str = Field(min_length=1, max_length=128)
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    team: str = Field("", pattern=r"^(|[a-z0-9][a-z0-9_-]{0,63})$", description="team code, or empty")
    role: PersonRole
    active: bool = True


class PersonView(BaseModel):
    id: str
    display_name: str
    email: str
    team: str
    role: str
    active: bool


class PersonPage(BaseModel):
    data: list[PersonView]
    count: int
    offset: int
    limit: int


class AlertView(BaseModel):
    """One alert in a person's inbox, with where it was delivered."""

    idempotency_key: str
    subject_id: str
    kind: str
    message: str
    details: dict[str, str]
    created_at: str
    delivered: list[str] = Field(description="channels that delivered it: email, webhook")


class AlertPage(BaseModel):
    data: list[AlertView]
    count: int
    offset: int
    limit: int
