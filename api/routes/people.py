"""The directory of people alerts reach (rule 5), and each person's alert inbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from api.deps import Caller, QualityDep, SessionDep, require_roles
from api.schemas import AUTH, BODY, CODE_PATTERN, problems
from api.schemas.people import AlertPage, AlertView, PersonBody, PersonId, PersonPage, PersonView
from domain.encoding import format_time
from readmodel import alerts
from readmodel.alert_models import Person

router = APIRouter(prefix="/people", tags=["people and alerts"])

# A person-bound key (agent, team head, reviewer) reads only its own person's inbox (Caller.check_person).
InboxReaderDep = Annotated[Caller, Depends(require_roles("quality", "supervisor", "team_head", "agent", "reviewer"))]


def _view(p: Person) -> PersonView:
    return PersonView(id=p.id, display_name=p.display_name, email=p.email, team=p.team, role=p.role,
                      active=p.active)


@router.put("/{person_id}", response_model=PersonView, status_code=status.HTTP_200_OK,
            responses={**problems(*AUTH, *BODY), 201: {"model": PersonView, "description": "added"}})
def put_person(person_id: PersonId, body: PersonBody, caller: QualityDep, session: SessionDep,
               response: Response) -> PersonView:
    """Add or replace a person of the directory (their address receives their alerts)."""
    person = Person(id=person_id, display_name=body.display_name, email=body.email, team=body.team,
                    role=body.role, active=body.active, updated_at=datetime.now(UTC))
    if alerts.put_person(session=session, person=person):
        response.status_code = status.HTTP_201_CREATED
    return _view(alerts.get_person(session=session, person_id=person_id) or person)


@router.get("", response_model=PersonPage, responses=problems(*AUTH))
def list_people(caller: QualityDep, session: SessionDep,
                team: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
                offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                limit: Annotated[int, Query(ge=1, le=200)] = 50) -> PersonPage:
    """The directory, by id."""
    rows, total = alerts.list_people(session=session, team=team, offset=offset, limit=limit)
    return PersonPage(data=[_view(p) for p in rows], count=total, offset=offset, limit=limit)


@router.get("/{person_id}", response_model=PersonView, responses=problems(*AUTH, 404))
def get_person(person_id: PersonId, caller: QualityDep, session: SessionDep) -> PersonView:
    """One person of the directory."""
    person = alerts.get_person(session=session, person_id=person_id)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no person {person_id} in the directory")
    return _view(person)


@router.get("/{person_id}/alerts", response_model=AlertPage, responses=problems(*AUTH, 404))
def inbox(person_id: PersonId, caller: InboxReaderDep, session: SessionDep,
          offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> AlertPage:
    """The person's alerts, newest first, each with the channels that delivered it."""
    caller.check_person(person_id, "inbox")
    rows, total = alerts.inbox(session=session, recipient=person_id, offset=offset, limit=limit)
    # Alerts to someone not (yet) in the directory are kept too: only e-mail needs the entry.
    if total == 0 and alerts.get_person(session=session, person_id=person_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no person {person_id} and no alerts for them")
    data = [AlertView(idempotency_key=a.idempotency_key, subject_id=a.subject_id, kind=a.kind, message=a.message,
                      details=json.loads(a.details),
                      created_at=format_time(a.created_at if a.created_at.tzinfo else a.created_at.replace(tzinfo=UTC)),
                      delivered=[d.channel for d in alerts.deliveries_of(session=session, key=a.idempotency_key)])
            for a in rows]
    return AlertPage(data=data, count=total, offset=offset, limit=limit)
