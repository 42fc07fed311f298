"""The case library (rule 13): keyword search in Chinese and English, and a ticket's similar cases."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlmodel import Session

from analysis.cases import CaseDoc, CaseIndex
from api.deps import PolicyDep, SessionDep, SettingsDep, StaffReaderDep
from api.schemas import AUTH, CODE_PATTERN, ID_PATTERN, problems
from api.schemas.analysis import CaseResults, CaseView, SimilarCases
from domain.json_limits import has_lone_surrogate
from readmodel import cases as case_store
from readmodel.db import session_scope

router = APIRouter(tags=["cases"])

# Queries longer than this are cut: BM25 cost grows with the query's words, not its bytes.
MAX_QUERY_CHARS = 500


class _IndexCache:
    """One BM25 index per process, rebuilt when the library's version (its newest addition) changes.

    The first index is built while the first search waits; later ones in a background thread while
    searches go on against the previous index (100,000 cases take half a minute to tokenise).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._index: CaseIndex | None = None
        self._building: str | None = None

    def get(self, session: Session, db_url: str) -> CaseIndex:
        current = case_store.version(session)
        if current == self._version and self._index is not None:
            return self._index
        if self._index is None:
            with self._lock:
                if self._index is None or self._version != current:
                    self._install(current, [CaseDoc(*row) for row in case_store.all_cases(session)])
            assert self._index is not None
            return self._index
        with self._lock:
            if self._building != current:
                self._building = current
                threading.Thread(target=self._rebuild, args=(db_url, current), daemon=True).start()
        return self._index

    def _install(self, version: str, docs: list[CaseDoc]) -> None:
        self._index, self._version = CaseIndex(docs), version

    def _rebuild(self, db_url: str, version: str) -> None:
        with session_scope(db_url) as session:
            docs = [CaseDoc(*row) for row in case_store.all_cases(session)]
        index = CaseIndex(docs)
        with self._lock:
            self._index, self._version = index, version


INDEX = _IndexCache()


def _view(doc: CaseDoc, score: float) -> CaseView:
    return CaseView(id=doc.id, source=doc.source, problem=doc.problem, cause=doc.cause, measure=doc.measure,
                    outcome=doc.outcome, category=doc.category, team=doc.team, step=doc.step, lang=doc.lang,
                    score=round(score, 4))


Code = Annotated[str | None, Query(pattern=CODE_PATTERN)]


@router.get("/cases", response_model=CaseResults, responses=problems(*AUTH))
def search_cases(session: SessionDep, caller: StaffReaderDep, settings: SettingsDep,
                 q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"^[^\x00]*$",
                                         description="keywords, Chinese or English")],
                 category: Code = None, team: Code = None,
                 source: Annotated[str | None, Query(pattern="^(ticket|finding|meeting|seed)$")] = None,
                 lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
                 limit: Annotated[int, Query(ge=1, le=50)] = 10) -> CaseResults:
    """The best-matching cases (BM25; Chinese segmented by jieba), filtered by category, team, source, language."""
    if has_lone_surrogate(q):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["query", "q"], "msg": "must not contain lone UTF-16 surrogates", "type": "value_error"}])
    index = INDEX.get(session, settings.db_url)
    hits = index.search(q, k=limit, category=category, team=team, source=source, lang=lang)
    return CaseResults(query=q, count=len(hits), data=[_view(d, s) for d, s in hits])


@router.get("/tickets/{ticket_id}/similar-cases", response_model=SimilarCases, responses=problems(*AUTH, 404))
def similar_cases(ticket_id: Annotated[str, Path(pattern=ID_PATTERN)], session: SessionDep,
                  caller: StaffReaderDep, policy: PolicyDep, settings: SettingsDep,
                  limit: Annotated[int | None, Query(ge=1, le=50)] = None) -> SimilarCases:
    """Cases like this ticket (its summary and description as the query), for the agent working on it."""
    hits = find_similar(session, settings.db_url, ticket_id, limit or policy.analysis.similar_cases)
    if hits is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket {ticket_id}")
    return SimilarCases(ticket_id=ticket_id, data=[_view(d, s) for d, s in hits])


def find_similar(session: Session, db_url: str, ticket_id: str, k: int) -> list[tuple[CaseDoc, float]] | None:
    """The ``k`` cases most like the ticket (its summary and description as the query; its own case
    left out), or None if there is no such ticket: the route and the console's ticket page use it."""
    found = case_store.ticket_text(session, ticket_id)
    if found is None:
        return None
    text, _category, _team = found
    return INDEX.get(session, db_url).search(text[:MAX_QUERY_CHARS], k=k, exclude=f"ticket:{ticket_id}")
