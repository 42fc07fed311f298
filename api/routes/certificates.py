"""A ticket's evidence certificate: signed JSON, and its QR code as PNG or SVG.

Readable by staff (API key with a staff role) and by the ticket's customer (``X-Customer-Token``).
The QR code carries the public verification URL plus the certificate's digest, so a page served
by a tampered server cannot pass off another record as the one the customer was given.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Header, HTTPException, Path, Response, status

from api.deps import STAFF, SessionDep, SettingsDep, current_caller, require_roles
from api.schemas import AUTH, NO_NUL, problems
from api.tokens import check_customer_token
from certificates.issue import NotCertifiable, build_certificate, signer_for
from domain.certificate import certificate_digest
from readmodel.evidence import token_version
from settings import Settings

router = APIRouter(tags=["certificates"])

ApiKey = Annotated[str | None, Header(alias="X-API-Key", description="Staff API key")]
CustomerToken = Annotated[str | None, Header(alias="X-Customer-Token", max_length=128,
                                             description="The ticket's customer token")]
TicketId = Annotated[str, Path(pattern=NO_NUL, max_length=64, description="ticket id")]


def verification_url(settings: Settings, ticket_id: str, digest: str) -> str:
    """Return what the QR code carries: the public page of the ticket plus the certificate digest.

    Args:
        settings: For ``public_base_url``.
        ticket_id: The ticket.
        digest: The certificate digest.

    Returns:
        ``{public_base_url}/verify/{ticket_id}?d={digest}``.
    """
    return f"{settings.public_base_url.rstrip('/')}/verify/{quote(ticket_id, safe='')}?d={digest}"


def _authorise(settings: Settings, session: Any, ticket_id: str, api_key: str | None,
               customer_token: str | None) -> None:
    # Staff keys go through the same checks as every other staff route; the customer's token is
    # checked against the version the read model knows (1 + revocations, persisted before the
    # revoke update returns), so a revoked token stops working here too.
    if api_key:
        require_roles(*STAFF)(current_caller(settings, api_key))
        return
    if customer_token:
        if check_customer_token(settings, ticket_id, customer_token,
                                token_version(session=session, ticket_id=ticket_id)):
            return
        raise HTTPException(status.HTTP_403_FORBIDDEN, "customer token is not valid for this ticket")
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "send a staff X-API-Key or the X-Customer-Token header",
                        headers={"WWW-Authenticate": "ApiKey"})


def _certificate(settings: Settings, session: Any, ticket_id: str) -> dict[str, Any]:
    try:
        signer = signer_for(settings)
    except (RuntimeError, ValueError, OSError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"certificates are unavailable: the chain or its deployment is not ready "
                            f"({type(exc).__name__})") from exc
    try:
        return build_certificate(session=session, ticket_id=ticket_id, signer=signer)
    except NotCertifiable as exc:
        code = status.HTTP_404_NOT_FOUND if str(exc).startswith("no ticket") else status.HTTP_409_CONFLICT
        raise HTTPException(code, str(exc)) from exc


_NO_STORE = {"Cache-Control": "private, no-store"}
# 409: the ticket has nothing anchored yet; 503: the chain or the deployment is not ready;
# 429: too many requests from one address (api/ratelimit.py).
ERRORS = problems(*AUTH, 404, 409, 429, 503)


@router.get("/tickets/{ticket_id}/certificate", responses=ERRORS)
def get_certificate(ticket_id: TicketId, session: SessionDep, settings: SettingsDep, x_api_key: ApiKey = None,
                    x_customer_token: CustomerToken = None) -> Response:
    """The ticket's signed evidence certificate (staff key or the customer's token)."""
    _authorise(settings, session, ticket_id, x_api_key, x_customer_token)
    cert = _certificate(settings, session, ticket_id)
    body = json.dumps(cert, indent=2, sort_keys=True, ensure_ascii=False)
    headers = {**_NO_STORE,
               "Content-Disposition": f'attachment; filename="certificate-{quote(ticket_id, safe="")}.json"'}
    return Response(body, media_type="application/json", headers=headers)


def _qr(settings: Settings, session: Any, ticket_id: str) -> segno.QRCode:
    cert = _certificate(settings, session, ticket_id)
    # Error correction M survives a smudged print or a photo at an angle; the URL stays short
    # (one hash), so the code stays easy to scan.
    return segno.make(verification_url(settings, ticket_id, certificate_digest(cert)), error="m",
                      micro=False)


@router.get("/tickets/{ticket_id}/certificate.png", response_class=Response,
            responses={**ERRORS, 200: {"content": {"image/png": {}}}})
def get_certificate_png(ticket_id: TicketId, session: SessionDep, settings: SettingsDep, x_api_key: ApiKey = None,
                        x_customer_token: CustomerToken = None) -> Response:
    """The certificate's QR code as PNG: the verification URL plus the certificate digest."""
    _authorise(settings, session, ticket_id, x_api_key, x_customer_token)
    buffer = io.BytesIO()
    _qr(settings, session, ticket_id).save(buffer, kind="png", scale=8, border=4)
    return Response(buffer.getvalue(), media_type="image/png", headers=_NO_STORE)


@router.get("/tickets/{ticket_id}/certificate.svg", response_class=Response,
            responses={**ERRORS, 200: {"content": {"image/svg+xml": {}}}})
def get_certificate_svg(ticket_id: TicketId, session: SessionDep, settings: SettingsDep, x_api_key: ApiKey = None,
                        x_customer_token: CustomerToken = None) -> Response:
    """The certificate's QR code as SVG: the verification URL plus the certificate digest."""
    _authorise(settings, session, ticket_id, x_api_key, x_customer_token)
    buffer = io.BytesIO()
    _qr(settings, session, ticket_id).save(buffer, kind="svg", scale=8, border=4,
                                           title="Qualitrail certificate")
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers=_NO_STORE)
