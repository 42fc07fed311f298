"""The service record (rule 2): a ticket's whole record for reviewers, and erasure on request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, SessionDep, SettingsDep, TicketId, require_roles
from api.schemas import AUTH, BODY, problems
from api.schemas.records import ErasureBody, ErasureView, ServiceRecordView
from services.service_record import drop_text, erase_record, keep_text, read_record
from settings import Settings

router = APIRouter(prefix="/tickets", tags=["service record"])

RecordReaderDep = Annotated[Caller, Depends(require_roles("reviewer", "quality", "supervisor"))]
EraserDep = Annotated[Caller, Depends(require_roles("quality"))]

# Answers that mean the command was not applied: its text belongs to no milestone.
_REFUSED = frozenset({status.HTTP_404_NOT_FOUND, status.HTTP_409_CONFLICT, 422})


@asynccontextmanager
async def kept_text(session: Session, settings: Settings, *, ticket_id: str, text: str, kind: str,
                    actor: str) -> AsyncIterator[str]:
    """Seals and stores ``text`` before the command that carries its hash runs; yields the hash.

    Stored first so an API that stops mid-command loses nothing; dropped again when the command is
    refused. After a 503 the command may have been applied, so the text is kept.
    """
    digest, new = await run_in_threadpool(keep_text, session, settings, ticket_id=ticket_id, text=text,
                                          kind=kind, actor=actor)
    try:
        yield digest
    except HTTPException as exc:
        if new and exc.status_code in _REFUSED:
            await run_in_threadpool(drop_text, session, ticket_id=ticket_id, digest=digest)
        raise


@router.get("/{ticket_id}/record", response_model=ServiceRecordView, responses=problems(*AUTH, 404))
def get_record(ticket_id: TicketId, caller: RecordReaderDep, session: SessionDep,
               settings: SettingsDep) -> ServiceRecordView:
    """The ticket's whole record: texts, milestones, clocks and evidence status (reviewers, quality)."""
    record = read_record(session, settings, ticket_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no record of ticket {ticket_id}")
    return ServiceRecordView.model_validate({"ticket": record.ticket, "entries": record.entries,
                                             "erasures": record.erasures})


@router.post("/{ticket_id}/erasure", response_model=ErasureView, responses=problems(*AUTH, *BODY, 404))
def erase(ticket_id: TicketId, body: ErasureBody, caller: EraserDep, session: SessionDep,
          settings: SettingsDep) -> ErasureView:
    """Erase the ticket's texts on the customer's request; hashes and anchored evidence stay."""
    if read_record(session, settings, ticket_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no record of ticket {ticket_id}")
    return ErasureView.model_validate(erase_record(session, ticket_id=ticket_id, request_ref=body.request_ref,
                                                   erased_by=caller.key_id))
