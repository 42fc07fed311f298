"""List, filter and paginate, written once for every list the API serves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

__all__ = ["page"]

Row = TypeVar("Row", bound=SQLModel)


def page(session: Session, model: type[Row], filters: Sequence[Any], order_by: Sequence[Any], *,
         offset: int, limit: int) -> tuple[list[Row], int]:
    """One page of ``model`` rows matching every filter, in ``order_by`` order, with the total count."""
    query = select(model)
    count = select(func.count()).select_from(model)
    for f in filters:
        query = query.where(f)
        count = count.where(f)
    total = session.exec(count).one()
    rows = session.exec(query.order_by(*order_by).offset(offset).limit(limit)).all()
    return list(rows), int(total)
