"""How a Temporal RPC failure becomes an HTTP answer, the same way for tickets, meetings and suppliers."""

from __future__ import annotations

from typing import NoReturn

from fastapi import HTTPException, status
from temporalio.service import RPCError, RPCStatusCode


def raise_rpc(exc: RPCError, noun: str, ident: str) -> NoReturn:
    """404 for an unknown workflow, 409 for a finished one, 503 when Temporal cannot answer."""
    # An Update sent to a workflow that has completed answers NOT_FOUND "workflow execution already
    # completed": the ticket exists, it is just closed (e.g. a confirm retried after a lost answer).
    if exc.status == RPCStatusCode.NOT_FOUND and "already completed" in exc.message:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{noun} {ident} is closed") from exc
    if exc.status == RPCStatusCode.NOT_FOUND:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{noun} {ident} not found") from exc
    if exc.status == RPCStatusCode.FAILED_PRECONDITION:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{noun} {ident} is closed") from exc
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "workflow service unavailable") from exc
