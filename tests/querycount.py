"""Counting the SQL statements of a request, to keep page query counts constant.

The idea of GitLab's ``QueryRecorder``/``exceed_query_limit``: record the queries of
a page on a small data set, add data, request the page again and assert the count did
not grow. With SQLAlchemy: a ``before_cursor_execute`` listener on the engine.

    with count_queries() as queries:
        client.get("/")
    assert len(queries) == ...

    assert_constant_queries(client, "/counties/371321", grow=lambda: add_items(2000))
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from sqlalchemy import event

from procure.extensions import db


class QueryLog(list):
    """The statements run inside the block (SQL text, in order)."""

    def __str__(self) -> str:
        return "\n".join(f"{i + 1:3d}. {' '.join(s.split())[:300]}" for i, s in enumerate(self))


@contextlib.contextmanager
def count_queries() -> Iterator[QueryLog]:
    log = QueryLog()
    engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        log.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", record)


def page_queries(client, path: str, *, status: int = 200) -> QueryLog:
    """The queries of one GET of ``path`` (after a first GET that warms any cache of
    the process: caches are measured elsewhere, the page's own reads here)."""
    from procure.extensions import cache

    cache.clear()
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    cache.clear()
    with count_queries() as log:
        response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return log


def assert_constant_queries(client, path: str, grow: Callable[[], object], *, status: int = 200) -> int:
    """The page's query count on the current data equals the count after ``grow()``
    added (much) more data. Returns the count."""
    small = page_queries(client, path, status=status)
    grow()
    db.session.expire_all()
    large = page_queries(client, path, status=status)
    assert len(large) == len(small), (
        f"{path}: {len(small)} queries on the small data set, {len(large)} on the large one\n"
        f"--- small:\n{small}\n--- large:\n{large}"
    )
    return len(small)
