"""Personal points (rule 9): a closed month's ranking and one agent's ledger entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.deps import Caller, QualityDep, SessionDep, require_roles
from api.schemas import AUTH, problems
from api.schemas.points import AgentId, AgentMonth, EntryView, Month, MonthRanking, RankView
from readmodel import points

router = APIRouter(prefix="/points", tags=["points"])
# An agent reads their own entries with a key bound to them (Caller.check_person); the ranking is the quality side's.
PointsReaderDep = Annotated[Caller, Depends(require_roles("quality", "supervisor", "agent"))]


def _closed(session: SessionDep, month: str) -> points.PointsMonth:
    closed = points.get_month(session=session, month=month)
    if closed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"month {month} is not closed yet")
    return closed


@router.get("/{month}", response_model=MonthRanking, responses=problems(*AUTH, 404))
def month_ranking(month: Month, caller: QualityDep, session: SessionDep,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> MonthRanking:
    """A closed month's ranking, best first; the top share is flagged for the extra reward."""
    closed = _closed(session, month)
    rows, total = points.ranking(session=session, month=month, offset=offset, limit=limit)
    return MonthRanking(month=month, ledger_root=closed.ledger_root, entry_count=closed.entry_count,
                        data=[RankView(agent=r.agent, total=r.total, rank=r.rank, flagged=r.flagged) for r in rows],
                        count=total, offset=offset, limit=limit)


@router.get("/{month}/agents/{agent}", response_model=AgentMonth, responses=problems(*AUTH, 404))
def agent_month(month: Month, agent: AgentId, caller: PointsReaderDep, session: SessionDep) -> AgentMonth:
    """One agent's entries in a closed month, with their total and place (an agent: their own only)."""
    caller.check_person(agent, "points")
    _closed(session, month)
    rank = points.agent_rank(session=session, month=month, agent=agent)
    entries = points.agent_entries(session=session, month=month, agent=agent)
    return AgentMonth(month=month, agent=agent, total=sum(e.points for e in entries),
                      rank=rank.rank if rank else None, flagged=bool(rank and rank.flagged),
                      entries=[EntryView(source_key=e.source_key, rule=e.rule, points=e.points, ticket_id=e.ticket_id,
                                         event_at=e.event_at) for e in entries])
