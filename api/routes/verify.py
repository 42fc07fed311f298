"""The public verification page customers reach by scanning a certificate's QR code.

``GET /verify/{ticket_id}?d=<digest>`` finds the certificate with that digest (the one the QR code
was made for, even if the ticket has moved on since), runs every check — digest, operator
signature, hash chain, Merkle inclusion, roots on chain with confirmations, vouchers — and shows
each in plain words with an overall verdict. If this server has no certificate with that digest,
the page says so and fails: a tampered server cannot show another record under a genuine QR code.
A missing or wrong digest gets exactly the answer an unknown ticket id gets (404, same body and
headers), so the page neither reveals which ids exist nor shows a record without its digest.

``POST /verify`` takes a certificate file (JSON body or a multipart form upload) and shows the same
page for it; ``GET /verify`` shows the upload form. With ``Accept: application/json`` the GET
returns the certificate itself, which is how the auditor tool fetches the certificate behind a QR
photo before checking it against its own node.

No personal data appears on the page: milestones are shown by kind and time only.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import replace
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import PolicyDep, SessionDep, SettingsDep
from api.i18n import HTML_LANG, LANGUAGES, negotiate
from api.schemas import NO_NUL
from api.verify_page import Note, PageModel, PageView, render_page
from certificates.issue import CertificateSigner, NotCertifiable, find_certificate, pending_count, signer_for
from certificates.verify import verify_certificate
from chain.rpc import connect
from domain.certificate import CertificateFormatError, CertificateTooLarge, parse_certificate
from domain.certificate_checks import Check, CheckStatus
from domain.policy import Policy
from settings import Settings

router = APIRouter(tags=["verification"])

_DIGEST = re.compile(r"^0x[0-9a-fA-F]{64}$")
LangQuery = Annotated[str | None, Query(pattern="^(" + "|".join(LANGUAGES) + ")$",
                                        description="page language (default: Accept-Language)")]
# A certificate of a long ticket is a few hundred bytes per milestone; far below this.
MAX_UPLOAD_BYTES = 1024 * 1024

# These routes answer a page by default and JSON on request; errors come in the form asked for.
_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_PROBLEM: dict[str, Any] = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
QR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the verification page, or the certificate with Accept: application/json",
          "content": {**_HTML, "application/json": {"schema": {"type": "object"}}}},
    404: {"description": "no certificate matches this link: unknown ticket, nothing anchored yet, or a "
                          "missing or wrong digest (one answer for all)", "content": {**_PROBLEM, **_HTML}},
    503: {"description": "the chain cannot be reached; nothing was verified", "content": {**_PROBLEM, **_HTML}},
    429: {"description": "too many requests from this address (Retry-After says when to try again)",
          "content": _PROBLEM},
}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the verification page", "content": _HTML},
    400: {"description": "not a readable certificate (the page says why)", "content": _HTML},
    413: {"description": "larger than 1 MiB", "content": {**_PROBLEM, **_HTML}},
    429: {"description": "too many requests from this address (Retry-After says when to try again)",
          "content": _PROBLEM},
    422: {"description": "JSON nested too deeply (refused before parsing), or a list longer than a "
                         "certificate holds (the page names it)",
          "content": {**_HTML, "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}},
}
# The body is read by hand (JSON or a form upload), so FastAPI cannot describe it itself.
UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "a certificate file"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["certificate"], "properties": {
        "certificate": {"type": "string", "format": "binary"}}}},
}}}

def _view(request: Request, policy: Policy) -> PageView:
    """The reader's language (``?lang``, else Accept-Language) and the policy's time zone."""
    lang = negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    return PageView(lang, ZoneInfo(policy.calendar.timezone), query)


def _html(page: PageModel | None, view: PageView, http_status: int = status.HTTP_200_OK,
          no_store: bool = False) -> HTMLResponse:
    headers = {"Content-Language": HTML_LANG[view.lang], "Vary": "Accept-Language"}
    if no_store:
        headers["Cache-Control"] = "no-store"
    return HTMLResponse(render_page(page, view), status_code=http_status, headers=headers)


def _failed_page(heading: str, check: Check, ticket_id: str = "", http_status: int = 200) -> PageModel:
    return PageModel(heading, [check], ticket_id, http_status=http_status)


def _signer(settings: Settings) -> CertificateSigner | None:
    try:
        return signer_for(settings)
    except (RuntimeError, ValueError, OSError):
        return None


def _run_checks(settings: Settings, cert: Any, signer: CertificateSigner | None,
                expected_digest: str | None, stop_at_failure: bool = False) -> list[Check]:
    return verify_certificate(
        cert, w3=connect(settings.rpc_url), trusted_signer=signer.address if signer else None,
        expected_digest=expected_digest, min_confirmations=max(1, settings.chain_confirmations),
        trusted_registry=signer.registry if signer else None, stop_at_failure=stop_at_failure)


# One answer for every link that names no certificate we can show: an unknown id, a subject that is
# not a ticket, a ticket with nothing anchored, a missing, malformed or wrong digest. Any difference
# (status, body, headers) would tell a guesser which ticket ids exist, and showing the current record
# for a wrong digest would make the digest no capability at all.
NO_MATCH_DETAIL = "no certificate matches this link"
_NO_MATCH_TEXT = ("No certificate matches this link. Scan the QR code on your certificate again; if it "
                  "still fails, the record was changed since the code was made, or the code is not ours.")


def _no_match(as_json: bool, view: PageView) -> Response:
    if as_json:
        return JSONResponse({"detail": NO_MATCH_DETAIL}, status_code=status.HTTP_404_NOT_FOUND,
                            headers={"Cache-Control": "no-store"})
    # The page echoes nothing of the link (not the ticket id, not the query its language switch would
    # keep): its bytes are the same whatever the link named, in each language.
    page = _failed_page("qr", Check("qr", "Matches the QR code", CheckStatus.FAIL, _NO_MATCH_TEXT),
                        http_status=status.HTTP_404_NOT_FOUND)
    return _html(page, replace(view, query={}), page.http_status, no_store=True)


def _unavailable(ticket_id: str, as_json: bool, view: PageView) -> Response:
    if as_json:
        return JSONResponse({"detail": "the verification service cannot reach its blockchain"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    page = _failed_page("qr", Check(
        "service", "Verification service ready", CheckStatus.FAIL,
        "The verification service cannot reach its blockchain right now; nothing was verified. "
        "Try again later, or check the certificate file with the auditor tool."),
        ticket_id, status.HTTP_503_SERVICE_UNAVAILABLE)
    return _html(page, view, page.http_status, no_store=True)


@router.get("/verify/{ticket_id}", response_class=HTMLResponse, responses=QR_RESPONSES)
def verify_page(ticket_id: Annotated[str, Path(pattern=NO_NUL, max_length=64)], request: Request,
                session: SessionDep, settings: SettingsDep, policy: PolicyDep,
                d: Annotated[str | None, Query(description="certificate digest from the QR code")] = None,
                lang: LangQuery = None) -> Response:
    """Public verification page of the certificate a QR code points to (JSON with Accept: application/json)."""
    accept = request.headers.get("accept", "")
    as_json = "application/json" in accept and "text/html" not in accept
    view = _view(request, policy)
    # The digest is the capability: without the exact one, nothing about the ticket is revealed.
    if d is None or not _DIGEST.match(d):
        return _no_match(as_json, view)
    signer = _signer(settings)
    if signer is None:
        return _unavailable(ticket_id, as_json, view)
    try:
        found = find_certificate(session=session, ticket_id=ticket_id, signer=signer, digest=d)
        pending = pending_count(session=session, ticket_id=ticket_id) if found is not None else 0
    except NotCertifiable:
        found = None
    if found is None:
        return _no_match(as_json, view)
    cert, newer = found
    if as_json:
        return JSONResponse(cert, headers={"Cache-Control": "no-store"})
    notes: list[Note] = []
    if newer:
        notes.append(Note("qr_older", {"as_of": cert["as_of"], "newer": newer}))
    if pending:
        notes.append(Note("pending", {"pending": pending}))
    page = PageModel("qr", _run_checks(settings, cert, signer, d), ticket_id, cert, notes)
    return _html(page, view, page.http_status, no_store=True)


@router.get("/verify", response_class=HTMLResponse, responses={429: QR_RESPONSES[429]})
def upload_form(request: Request, policy: PolicyDep, lang: LangQuery = None) -> HTMLResponse:
    """Public page to check a certificate file."""
    return _html(None, _view(request, policy))


def _extract_upload(content_type: str, body: bytes) -> bytes:
    if content_type.startswith("multipart/form-data"):
        # The standard library's MIME parser reads form uploads, so no extra dependency is needed.
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") in ("certificate", "file"):
                payload = part.get_payload(decode=True)
                return payload if isinstance(payload, bytes) else b""
        raise CertificateFormatError("the form has no 'certificate' file")
    return body


@router.post("/verify", response_class=HTMLResponse, responses=UPLOAD_RESPONSES,
             openapi_extra=UPLOAD_BODY)
async def verify_upload(request: Request, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
                        lang: LangQuery = None) -> HTMLResponse:
    """Check an uploaded certificate file (JSON body or form field 'certificate') and show the result."""
    view = _view(request, policy)
    body = await request.body()
    if len(body) > MAX_UPLOAD_BYTES:
        page = _failed_page("upload", Check(
            "format", "Readable certificate", CheckStatus.FAIL, "The file is too large to be a certificate."),
            http_status=status.HTTP_413_CONTENT_TOO_LARGE)
        return _html(page, view, page.http_status)
    try:
        cert = parse_certificate(_extract_upload(request.headers.get("content-type", ""), body),
                                 settings.certificate_max_items())
    except CertificateTooLarge as exc:
        page = _failed_page("upload", Check(
            exc.field, "Readable certificate", CheckStatus.FAIL,
            f"This file lists more {exc.field} than any certificate holds ({exc}); it was not checked."),
            http_status=status.HTTP_422_UNPROCESSABLE_CONTENT)
        return _html(page, view, page.http_status)
    except CertificateFormatError as exc:
        page = _failed_page("upload", Check(
            "format", "Readable certificate", CheckStatus.FAIL,
            f"This is not a readable Qualitrail certificate: {exc}."), http_status=status.HTTP_400_BAD_REQUEST)
        return _html(page, view, page.http_status)
    signer = await run_in_threadpool(_signer, settings)
    # An upload is anyone's file: stop at its first failed check, before any call to the chain.
    checks = await run_in_threadpool(_run_checks, settings, cert, signer, None, True)
    page = PageModel("upload", checks, str(cert["ticket_id"]), cert)
    return _html(page, view, no_store=True)
