"""Storing an accepted file: the categories and items of the tree, in bulk."""
from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from procure.catalog.models import Catalog, Category, Item
from procure.catalog.xlsx.problems import ImportReport
from procure.catalog.xlsx.rows import Node
from procure.timeutil import utcnow


def store(session: Session, catalog: Catalog, roots: list[Node], report: ImportReport) -> None:
    """Bulk inserts: one executemany per category level and one for the items. The new
    category ids are read back by code (unique within a catalog), which is faster than
    INSERT … RETURNING on both SQLite and psycopg."""
    levels: list[list[Node]] = [roots, [], []]
    parent_code: dict[str, str | None] = {n.code: None for n in roots}
    for n1 in roots:
        for n2 in n1.children.values():
            levels[1].append(n2)
            parent_code[n2.code] = n1.code
            for n3 in n2.children.values():
                levels[2].append(n3)
                parent_code[n3.code] = n2.code
    ids: dict[str, int] = {}  # category code -> id
    for level, nodes in enumerate(levels, start=1):
        if not nodes:
            continue
        rows = [
            {
                "catalog_id": catalog.id,
                "parent_id": ids[parent_code[n.code]] if parent_code[n.code] is not None else None,
                "level": level,
                "code": n.code,
                "name": n.name,
            }
            for n in nodes
        ]
        session.execute(insert(Category), rows)
        ids.update(
            session.execute(
                select(Category.code, Category.id).where(Category.catalog_id == catalog.id, Category.level == level)
            ).all()
        )
    item_rows = [
        {
            "catalog_id": catalog.id,
            "category_id": ids[n3.code],
            "code": item.code_hint,
            **vars(item.data),
        }
        for n3 in levels[2]
        for item in n3.items.values()
    ]
    if item_rows:
        # render_nulls: rows with and without a budget go in one executemany batch
        # (measured faster than RETURNING's multi-row INSERTs on psycopg).
        session.execute(insert(Item).execution_options(render_nulls=True), item_rows)
    catalog.notes = report.notes
    catalog.updated_at = utcnow()
    session.flush()
    session.expire(catalog, ["items", "categories"])
    report.levels = (len(levels[0]), len(levels[1]), len(levels[2]))
    report.categories = sum(report.levels)
    report.items = len(item_rows)

