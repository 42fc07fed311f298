"""The public verification page customers reach by scanning a certificate's QR code.

``GET /verify/{ticket_id}?d=<digest>`` finds the certificate with that digest (the one the QR code
was made for, even if the ticket has moved on since), runs every check — digest, operator
signature, hash chain, Merkle inclusion, roots on chain with confirmations, vouchers — and shows
each in plain words with an overall verdict. If this server has no certificate with that digest,
the page says so and fails: a tampered server cannot show another record under a genuine QR code.

``POST /verify`` takes a certificate file (JSON body or a multipart form upload) and shows the same
page for it; ``GET /verify`` shows the upload form. With ``Accept: application/json`` the GET
returns the certificate itself, which is how the auditor tool fetches the certificate behind a QR
photo before checking it against its own node.

No personal data appears on the page: milestones are shown by kind and time only.
"""

from __future__ import annotations

import email.parser
import email.policy
import html
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep, SettingsDep
from api.schemas import NO_NUL
from certificates.issue import (
    CertificateSigner,
    NotCertifiable,
    build_certificate,
    find_certificate,
    pending_count,
    signer_for,
)
from certificates.verify import verify_certificate
from chain.rpc import connect
from domain.certificate import (
    CertificateFormatError,
    CertificateTooLarge,
    certificate_digest,
    parse_certificate,
)
from domain.certificate_checks import Check, CheckStatus, Verdict, overall_verdict
from domain.sla_clock import FIRST_RESPONSE, RESOLUTION
from settings import Settings

router = APIRouter(tags=["verification"])

_DIGEST = re.compile(r"^0x[0-9a-fA-F]{64}$")
# A certificate of a long ticket is a few hundred bytes per milestone; far below this.
MAX_UPLOAD_BYTES = 1024 * 1024

# These routes answer a page by default and JSON on request; errors come in the form asked for.
_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_PROBLEM: dict[str, Any] = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
QR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the verification page, or the certificate with Accept: application/json",
          "content": {**_HTML, "application/json": {"schema": {"type": "object"}}}},
    404: {"description": "no anchored record for this ticket", "content": {**_PROBLEM, **_HTML}},
    409: {"description": "no certificate with that digest (JSON only; the page shows the difference)",
          "content": _PROBLEM},
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

KIND_WORDS = {
    "opened": "Ticket opened",
    "repeat_flagged": "Recognised as a repeat complaint",
    "assigned": "Assigned to an agent",
    "first_response": "First response to the customer",
    "note_added": "Work note recorded",
    "paused": "Paused, waiting for the customer",
    "resumed": "Work resumed",
    "priority_changed": "Priority changed",
    "policy_changed": "Service standard updated",
    "resolved": "Problem resolved",
    "confirmed": "Resolution confirmed by the customer",
    "auto_closed": "Closed automatically",
    "reopened": "Reopened",
    "cancelled": "Cancelled",
    "escalated": "Escalated to another department",
    "sla_warning": "Service time limit approaching",
    "sla_breach": "Service time limit missed",
    "voucher_issued": "Compensation voucher issued",
    "voucher_redeemed": "Compensation voucher redeemed",
    "token_revoked": "Customer access code renewed",
}
CLOCK_WORDS = {FIRST_RESPONSE: "first response", RESOLUTION: "resolution"}
STATUS_WORDS = {
    CheckStatus.PASS: ("✔", "Passed"),
    CheckStatus.FAIL: ("✘", "FAILED"),
    CheckStatus.WARN: ("!", "Passed, with a note"),
    CheckStatus.SKIP: ("–", "Not checked"),
}


@dataclass
class PageModel:
    """What one verification page shows."""

    heading: str
    checks: list[Check]
    verdict: Verdict
    ticket_id: str = ""
    cert: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    http_status: int = status.HTTP_200_OK


def _failed_page(heading: str, check: Check, ticket_id: str = "", http_status: int = 200) -> PageModel:
    return PageModel(heading, [check], overall_verdict([check]), ticket_id, http_status=http_status)


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


def _page_for_qr(settings: Settings, session: Any, ticket_id: str, digest: str | None) -> PageModel:
    if digest is None or not _DIGEST.match(digest):
        return _failed_page("Certificate check", Check(
            "qr", "Matches the QR code", CheckStatus.FAIL,
            "This link carries no valid certificate digest. Scan the QR code on the certificate again."),
            ticket_id)
    signer = _signer(settings)
    if signer is None:
        return _failed_page("Certificate check", Check(
            "service", "Verification service ready", CheckStatus.FAIL,
            "The verification service cannot reach its blockchain right now; nothing was verified. "
            "Try again later, or check the certificate file with the auditor tool."),
            ticket_id, status.HTTP_503_SERVICE_UNAVAILABLE)
    try:
        found = find_certificate(session=session, ticket_id=ticket_id, signer=signer, digest=digest)
        notes: list[str] = []
        if found is not None:
            cert, newer = found
            if newer:
                notes.append(f"This QR code is for the record as of {cert['as_of']}. {newer} more step(s) "
                             "have been recorded and anchored since; ask for a new certificate to see them.")
        else:
            # Check what this server holds now, so the page shows what differs, not only that it does.
            cert = build_certificate(session=session, ticket_id=ticket_id, signer=signer)
        pending = pending_count(session=session, ticket_id=ticket_id)
    except NotCertifiable:
        return _failed_page("Certificate check", Check(
            "record", "Record found", CheckStatus.FAIL,
            "This server holds no anchored record for this ticket, so the QR code cannot be confirmed."),
            ticket_id, status.HTTP_404_NOT_FOUND)
    if pending:
        notes.append(f"{pending} newer step(s) are waiting to be anchored on the blockchain; they will "
                     "appear in the next certificate.")
    checks = _run_checks(settings, cert, signer, digest)
    return PageModel("Certificate check", checks, overall_verdict(checks), ticket_id, cert, notes)


@router.get("/verify/{ticket_id}", response_class=HTMLResponse, responses=QR_RESPONSES)
def verify_page(ticket_id: Annotated[str, Path(pattern=NO_NUL, max_length=64)], request: Request,
                session: SessionDep, settings: SettingsDep,
                d: Annotated[str | None, Query(description="certificate digest from the QR code")] = None
                ) -> Response:
    """Public verification page of the certificate a QR code points to (JSON with Accept: application/json)."""
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return _certificate_json(settings, session, ticket_id, d)
    page = _page_for_qr(settings, session, ticket_id, d)
    return HTMLResponse(render_page(page), status_code=page.http_status, headers={"Cache-Control": "no-store"})


def _certificate_json(settings: Settings, session: Any, ticket_id: str, digest: str | None) -> Response:
    # Only the certificate the QR code names: the digest acts as the capability, so knowing a ticket
    # id alone does not reveal its record.
    if digest is None or not _DIGEST.match(digest):
        # FastAPI's validation shape, naming the parameter, like every other 422 of the API.
        return JSONResponse({"detail": [{"loc": ["query", "d"], "type": "value_error",
                                         "msg": "must be the certificate digest: 0x and 64 hex digits"}]},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    signer = _signer(settings)
    if signer is None:
        return JSONResponse({"detail": "the verification service cannot reach its blockchain"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    try:
        found = find_certificate(session=session, ticket_id=ticket_id, signer=signer, digest=digest)
        if found is None:
            current = certificate_digest(build_certificate(session=session, ticket_id=ticket_id, signer=signer))
            return JSONResponse({"detail": "this server has no certificate with that digest",
                                 "current_digest": current}, status_code=status.HTTP_409_CONFLICT)
    except NotCertifiable:
        return JSONResponse({"detail": "no anchored record for this ticket"},
                            status_code=status.HTTP_404_NOT_FOUND)
    return JSONResponse(found[0], headers={"Cache-Control": "no-store"})


@router.get("/verify", response_class=HTMLResponse, responses={429: QR_RESPONSES[429]})
def upload_form() -> HTMLResponse:
    """Public page to check a certificate file."""
    return HTMLResponse(render_page(None))


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
async def verify_upload(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Check an uploaded certificate file (JSON body or form field 'certificate') and show the result."""
    body = await request.body()
    if len(body) > MAX_UPLOAD_BYTES:
        page = _failed_page("Certificate file check", Check(
            "format", "Readable certificate", CheckStatus.FAIL, "The file is too large to be a certificate."),
            http_status=status.HTTP_413_CONTENT_TOO_LARGE)
        return HTMLResponse(render_page(page), status_code=page.http_status)
    try:
        cert = parse_certificate(_extract_upload(request.headers.get("content-type", ""), body),
                                 settings.certificate_max_items())
    except CertificateTooLarge as exc:
        page = _failed_page("Certificate file check", Check(
            exc.field, "Readable certificate", CheckStatus.FAIL,
            f"This file lists more {exc.field} than any certificate holds ({exc}); it was not checked."),
            http_status=status.HTTP_422_UNPROCESSABLE_CONTENT)
        return HTMLResponse(render_page(page), status_code=page.http_status)
    except CertificateFormatError as exc:
        page = _failed_page("Certificate file check", Check(
            "format", "Readable certificate", CheckStatus.FAIL,
            f"This is not a readable Qualitrail certificate: {exc}."), http_status=status.HTTP_400_BAD_REQUEST)
        return HTMLResponse(render_page(page), status_code=page.http_status)
    signer = await run_in_threadpool(_signer, settings)
    # An upload is anyone's file: stop at its first failed check, before any call to the chain.
    checks = await run_in_threadpool(_run_checks, settings, cert, signer, None, True)
    page = PageModel("Certificate file check", checks, overall_verdict(checks), str(cert["ticket_id"]), cert)
    return HTMLResponse(render_page(page), headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------ rendering

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:46rem;margin:1.5rem auto;padding:0 1rem;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.4rem;margin-bottom:.2rem}.sub{color:#555;margin-top:0}
.verdict{padding:1rem 1.2rem;border-radius:.6rem;font-size:1.15rem;font-weight:600;margin:1rem 0}
.ok{background:#e5f6e9;border:2px solid #1e8e3e;color:#0f5323}.bad{background:#fde8e8;border:2px solid #c5221f;
color:#8c1111}
.check{border:1px solid #ddd;border-radius:.5rem;padding:.6rem .9rem;margin:.5rem 0}
.check h2{font-size:1rem;margin:0}.mark{display:inline-block;width:1.4rem;font-weight:700}
.pass .mark{color:#1e8e3e}.fail{border-color:#c5221f;background:#fff6f6}.fail .mark{color:#c5221f}
.warn .mark{color:#b06000}.skip .mark{color:#777}.state{font-weight:600}
.check p{margin:.3rem 0 0 1.4rem}.check ul{margin:.3rem 0 0 1.4rem;padding-left:1rem;font-size:.9rem;color:#333}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{text-align:left;padding:.3rem;
border-bottom:1px solid #eee}code{font-size:.85em;word-break:break-all}.note{color:#555}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _kind_words(m: dict[str, Any]) -> str:
    words = KIND_WORDS.get(str(m.get("kind")), str(m.get("kind")).replace("_", " "))
    clock = m.get("data", {}).get("clock") if isinstance(m.get("data"), dict) else None
    if clock in CLOCK_WORDS and m.get("kind") in ("sla_breach", "sla_warning"):
        words += f" ({CLOCK_WORDS[clock]})"
    return words


def _render_check(check: Check) -> str:
    mark, state = STATUS_WORDS[check.status]
    details = "".join(f"<li>{_e(d)}</li>" for d in check.details[:50])
    return (f'<section class="check {check.status.value}" data-check="{_e(check.name)}" '
            f'data-status="{check.status.value}"><h2><span class="mark">{mark}</span>{_e(check.title)}: '
            f'<span class="state">{state}</span></h2><p>{_e(check.summary)}</p>'
            f'{f"<ul>{details}</ul>" if details else ""}</section>')


def _render_milestones(cert: dict[str, Any]) -> str:
    rows = []
    for m in cert.get("milestones", []):
        if not isinstance(m, dict):
            continue
        at = str(m.get("at"))
        # "2026-11-25T01:37:00.000123Z" -> "2026-11-25 01:37:00": seconds are precise enough to read.
        shown = at[:19].replace("T", " ") if len(at) >= 19 else at
        rows.append(f"<tr><td>{_e(m.get('seq'))}</td><td>{_e(_kind_words(m))}</td><td>{_e(shown)}</td>"
                    f"<td><code>{_e(str(m.get('leaf'))[:18])}…</code></td><td>{_e(m.get('batch_no'))}</td></tr>")
    return ("<h2>Recorded steps</h2><table><tr><th>#</th><th>Step</th><th>Time (UTC)</th><th>Evidence hash"
            "</th><th>Batch</th></tr>" + "".join(rows) + "</table>")


_FORM = """<h2>Check a certificate file</h2>
<form method="post" action="/verify" enctype="multipart/form-data">
<input type="file" name="certificate" accept="application/json,.json" required>
<button type="submit">Check</button></form>"""


def render_page(page: PageModel | None) -> str:
    """Render the verification page (or the bare upload form when ``page`` is ``None``).

    Args:
        page: The checks and what they were about.

    Returns:
        A complete UTF-8 HTML document.
    """
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>Qualitrail certificate check</title>", f"<style>{_STYLE}</style></head><body>"]
    if page is None:
        parts.append("<h1>Qualitrail certificate check</h1><p class=\"sub\">Upload the certificate file you "
                     "received to check it against the blockchain.</p>" + _FORM)
    else:
        verdict_class = "ok" if page.verdict.ok else "bad"
        verdict_text = page.verdict.headline
        if page.verdict.ok:
            verdict_text = "✔ " + verdict_text + " This service record is genuine and complete as certified."
        else:
            verdict_text = "✘ " + verdict_text
        parts.append(f"<h1>{_e(page.heading)}</h1>")
        if page.ticket_id:
            parts.append(f'<p class="sub">Ticket <code>{_e(page.ticket_id)}</code></p>')
        parts.append(f'<div class="verdict {verdict_class}" id="verdict" data-verdict='
                     f'"{"verified" if page.verdict.ok else "failed"}">{_e(verdict_text)}</div>')
        parts.extend(f'<p class="note">{_e(n)}</p>' for n in page.notes)
        parts.extend(_render_check(c) for c in page.checks)
        if page.cert is not None:
            parts.append(_render_milestones(page.cert))
        parts.append('<p class="note">Every check above can be repeated without trusting this server: '
                     "the auditor tool <code>qualitrail audit verify</code> checks the certificate against "
                     "any blockchain node you choose.</p>")
        parts.append(_FORM)
    parts.append("</body></html>")
    return "".join(parts)

