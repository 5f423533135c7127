"""Chinese substring search over catalog items, with an index where the database has one.

- PostgreSQL: a ``pg_trgm`` GIN index on the item's search text (migration 0011);
  ``LIKE '%term%'`` on that same expression uses it (trigrams work on Chinese
  characters too; terms of one or two characters have no trigram and fall back to
  scanning the catalog's rows, found by ``catalog_id``).
- SQLite: an FTS5 table with the ``trigram`` tokenizer, kept in step with the items
  by triggers, where the SQLite build has FTS5; terms of three characters or more
  are matched there. Shorter terms, and SQLite builds without FTS5, use ``LIKE``.

The index objects are made by the migration, not by the models: ``UNMAPPED`` names
them for the schema comparison of tests/test_migrations.py and for autogenerate.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, inspect, literal_column, or_, select, text
from sqlalchemy.orm import Session

from procure.catalog.models import Item

# The searched text of an item, as one expression (the PostgreSQL index is on it).
SEARCH_TEXT_SQL = (
    "lower(catalog_items.name || ' ' || catalog_items.service_content || ' ' || "
    "catalog_items.notes || ' ' || catalog_items.purchasing_department)"
)
PG_INDEX = "ix_catalog_items_search_trgm"
FTS_TABLE = "catalog_items_fts"
FTS_MIN_CHARS = 3  # trigram tokenizer: shorter terms cannot use the index
UNMAPPED = {
    PG_INDEX,
    FTS_TABLE,
    *(f"{FTS_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config")),
}


_FTS_PRESENT: dict[str, bool] = {}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: the index objects above are the migration's, not the models'."""
    return name not in UNMAPPED


def like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_text() -> ColumnElement:
    return literal_column(SEARCH_TEXT_SQL)


def _has_fts(session: Session) -> bool:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    key = str(bind.url)  # per database
    if key not in _FTS_PRESENT:
        _FTS_PRESENT[key] = inspect(bind).has_table(FTS_TABLE)
    return _FTS_PRESENT[key]


def item_matches(session: Session, term: str) -> ColumnElement[bool]:
    """The condition "the item's own text contains ``term``" (lower-cased)."""
    term = term.lower()
    like = search_text().like(f"%{like_escape(term)}%", escape="\\")
    if len(term) >= FTS_MIN_CHARS and _has_fts(session):
        phrase = '"' + term.replace('"', '""') + '"'
        matching = select(literal_column("rowid")).select_from(text(FTS_TABLE)).where(
            literal_column(FTS_TABLE).op("MATCH")(phrase)
        )
        return Item.id.in_(matching)
    return like


def any_matches(session: Session, term: str, *names: ColumnElement) -> ColumnElement[bool]:
    """The item's text or one of the given (category) names contains ``term``."""
    pattern = f"%{like_escape(term.lower())}%"
    return or_(item_matches(session, term), *(name_col.like(pattern, escape="\\") for name_col in names))


def index_in_use(session: Session) -> str:
    """Which index serves searches here: "pg_trgm", "fts5" or "like"."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        names = {ix["name"] for ix in inspect(bind).get_indexes("catalog_items")}
        return "pg_trgm" if PG_INDEX in names else "like"
    return "fts5" if _has_fts(session) else "like"
