"""The monthly public quality report (rule 16): anyone may read it, as a page, JSON, PDF or the audit export.

Every route reads what the month's workflow stored (nothing is computed per request). ``.json`` is
the canonical report exactly as hashed; ``/export.json`` adds the frozen record and the anchored
milestone with its Merkle proof, which is what ``qualitrail audit report`` checks.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.deps import SessionDep
from api.i18n import HTML_LANG, LANGUAGES, negotiate
from api.report_page import render_report_page
from api.schemas import page_problems, problems
from readmodel import report
from readmodel.evidence import get_batch
from readmodel.models import Milestone

router = APIRouter(prefix="/reports", tags=["reports"])

Month = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
LangQuery = Annotated[str | None, Query(pattern="^(" + "|".join(LANGUAGES) + ")$",
                                        description="language (default: Accept-Language)")]
PUBLIC = problems(404, 429)
_HTML: dict[int | str, dict[str, Any]] = {200: {"description": "the report page",
                                                "content": {"text/html": {"schema": {"type": "string"}}}}}
_PDF: dict[int | str, dict[str, Any]] = {200: {"description": "the report as PDF",
                                               "content": {"application/pdf": {"schema": {"type": "string"}}}}}
_JSON: dict[int | str, dict[str, Any]] = {200: {"description": "JSON", "content": {
    "application/json": {"schema": {"type": "object"}}}}}


def _published(session: SessionDep, month: str) -> report.QualityReport:
    row = report.get_report(session=session, month=month)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"month: the report of {month} is not published")
    return row


def anchor_of(session: SessionDep, row: report.QualityReport) -> dict[str, Any]:
    """The report's milestone and, once its batch is on the chain, where (with the Merkle proof)."""
    m = report.report_milestone(session=session, month=row.month)
    out: dict[str, Any] = {"report_hash": row.report_hash, "record_hash": row.record_hash, "leaf": row.milestone_leaf}
    if m is None:
        return out
    out["milestone"] = _milestone(m)
    batch = get_batch(session=session, batch_no=m.batch_no) if m.batch_no is not None else None
    if batch is not None and batch.status == "anchored":
        out.update(batch=batch.batch_no, root=batch.root, tx=batch.tx_hash, block=batch.block_number,
                   batch_format=batch.format, proof=json.loads(m.proof or "[]"))
    return out


def _milestone(m: Milestone) -> dict[str, Any]:
    return {"subject": m.subject, "seq": m.seq, "kind": m.kind, "at": m.at, "prev": m.prev,
            "data": json.loads(m.data), "leaf": m.leaf}


@router.get("", responses=_JSON)
def months(session: SessionDep) -> dict[str, list[str]]:
    """The published months, newest first."""
    return {"months": report.list_months(session=session)}


@router.get("/{month}.json", responses={**_JSON, **PUBLIC})
def report_json(month: Month, session: SessionDep) -> Response:
    """The report's canonical JSON: these exact bytes hash (SHA-256) to the anchored report hash."""
    row = _published(session, month)
    return Response(row.report, media_type="application/json")


@router.get("/{month}.pdf", responses={**_PDF, **PUBLIC})
def report_pdf(month: Month, session: SessionDep, request: Request, lang: LangQuery = None) -> Response:
    """The report as a PDF in Chinese or English."""
    _published(session, month)
    chosen = negotiate(lang, request.headers.get("accept-language"))
    pdf = report.get_file(session=session, month=month, name=f"report-{chosen}.pdf")
    if pdf is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"lang: no {chosen} PDF of {month}")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="quality-report-{month}-{chosen}.pdf"',
        "Content-Language": HTML_LANG[chosen], "Vary": "Accept-Language"})


@router.get("/{month}/export.json", responses={**_JSON, **PUBLIC})
def export(month: Month, session: SessionDep) -> StreamingResponse:
    """What the auditor checks: the report, its anchor (milestone, batch, proof) and the frozen record."""
    row = _published(session, month)
    head = json.dumps({"report": json.loads(row.report), "anchor": anchor_of(session, row)},
                      sort_keys=True, ensure_ascii=True)
    packed = report.get_file(session=session, month=month, name=report.RECORD_FILE) or b""

    def body() -> Iterator[bytes]:
        yield head[:-1].encode("ascii") + b',"record":'
        yield gzip.decompress(packed)
        yield b"}"

    return StreamingResponse(body(), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="report-{month}.json"'})


@router.get("/{month}", response_class=HTMLResponse, responses={**_HTML, **page_problems(404, 429)})
def page(month: Month, session: SessionDep, request: Request, lang: LangQuery = None) -> HTMLResponse:
    """The report page (Chinese or English, phone first, charts drawn on the server)."""
    row = _published(session, month)
    chosen = negotiate(lang, request.headers.get("accept-language"))
    text = render_report_page(json.loads(row.report), chosen, anchor_of(session, row), f"/reports/{month}")
    return HTMLResponse(text, headers={"Content-Language": HTML_LANG[chosen], "Vary": "Accept-Language"})
