"""A month of closed tickets planted in a read model (milestones as the ticket workflow writes them)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session

from domain.milestones import Milestone as Link
from domain.milestones import MilestoneKind as K
from domain.milestones import format_time, new_milestone
from domain.points import month_bounds
from readmodel.db import get_engine
from readmodel.models import Milestone

# (team, category, tickets, abnormal every n-th)
STRATA = (("after-sales", "after_sales", 40, 4), ("billing", "complaint", 20, 5))


def plant_ticket(session: Session, ticket: str, at: datetime, team: str, category: str, abnormal: bool) -> None:
    steps: list[tuple[str, dict[str, str]]] = [(K.OPENED, {"team": team, "category": category}),
                                               (K.ASSIGNED, {"assignee": "li.wei"}),
                                               (K.FIRST_RESPONSE, {}), (K.RESOLVED, {"resolution_code": "fixed"}),
                                               (K.CONFIRMED, {"rating": "1" if abnormal else "5"})]
    previous: Link | None = None
    for kind, data in steps:
        m = new_milestone(ticket, previous, kind, at, data)
        session.add(Milestone(subject=ticket, seq=m.seq, kind=m.kind, at=format_time(m.at), prev=m.prev, leaf=m.leaf,
                              data=json.dumps(m.data, sort_keys=True, separators=(",", ":"))))
        previous, at = m, at + timedelta(hours=2)


def plant_month(db_url: str, month: str = "2026-11", prefix: str = "T") -> dict[str, set[str]]:
    """Plants the strata; returns the abnormal ticket ids per stratum (also one ticket closed next month)."""
    abnormal: dict[str, set[str]] = {}
    start = datetime.fromisoformat(f"{month}-02T08:00:00+00:00")
    with Session(get_engine(db_url)) as session:
        for team, category, count, every in STRATA:
            stratum = f"{team}/{category}"
            abnormal[stratum] = set()
            for i in range(count):
                ticket = f"{prefix}-{team}-{i:03d}"
                bad = i % every == 0
                if bad:
                    abnormal[stratum].add(ticket)
                plant_ticket(session, ticket, start + timedelta(hours=7 * i), team, category, bad)
        plant_ticket(session, f"{prefix}-late", month_bounds(month)[1] - timedelta(hours=2), "billing",
                     "complaint", False)  # confirmed after the month ended: not in it
        session.commit()
    return abnormal
