"""Bounded lists: every list page shows one page of rows, counted in SQL.

    page = paging.paginate(session, select(Organization).order_by(Organization.name, Organization.id),
                           number=paging.page_number(request.args), per_page=50)

Two queries whatever the number of rows: ``count(*)`` of the filtered statement and
the page itself (``LIMIT``/``OFFSET``). The statement must be ordered
deterministically (end the ORDER BY with a unique column), or rows could repeat or
vanish between pages.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from procure.inputs import PAGE_MAX, parse_int



@dataclass
class Page:
    items: list[Any]
    total: int
    number: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(args: Mapping[str, str], name: str = "page") -> int:
    """The 1-based page number of a query string; anything odd (not a number, out
    of range) is page 1."""
    return parse_int(args.get(name), minimum=1, maximum=PAGE_MAX) or 1


def paginate(session: Session, stmt: Select, *, number: int, per_page: int, scalars: bool = True) -> Page:
    """One page of ``stmt`` and the total number of its rows. A page past the end
    is the last page."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    limited = stmt.limit(per_page).offset((number - 1) * per_page)
    rows = list(session.scalars(limited)) if scalars else list(session.execute(limited))
    return Page(items=rows, total=total, number=number, per_page=per_page)
