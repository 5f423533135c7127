"""search indexes: pg_trgm on catalog items (PostgreSQL), FTS5 trigram (SQLite); catalogs.published_at (lists of recent publications)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 04:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEARCH_TEXT = (
    "lower(catalog_items.name || ' ' || catalog_items.service_content || ' ' || "
    "catalog_items.notes || ' ' || catalog_items.purchasing_department)"
)
FTS_COLUMNS = "name, service_content, notes, purchasing_department"


def upgrade():
    with op.batch_alter_table("catalogs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalogs_published_at"), ["published_at"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_catalog_items_search_trgm ON catalog_items USING gin (({SEARCH_TEXT}) gin_trgm_ops)")
    elif bind.dialect.name == "sqlite" and _sqlite_has_fts5_trigram(bind):
        op.execute(
            f"CREATE VIRTUAL TABLE catalog_items_fts USING fts5({FTS_COLUMNS}, "
            "content='catalog_items', content_rowid='id', tokenize='trigram')"
        )
        new = ", ".join(f"new.{c.strip()}" for c in FTS_COLUMNS.split(","))
        old = ", ".join(f"old.{c.strip()}" for c in FTS_COLUMNS.split(","))
        op.execute(
            f"CREATE TRIGGER catalog_items_fts_ai AFTER INSERT ON catalog_items BEGIN "
            f"INSERT INTO catalog_items_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER catalog_items_fts_ad AFTER DELETE ON catalog_items BEGIN "
            f"INSERT INTO catalog_items_fts(catalog_items_fts, rowid, {FTS_COLUMNS}) "
            f"VALUES ('delete', old.id, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER catalog_items_fts_au AFTER UPDATE ON catalog_items BEGIN "
            f"INSERT INTO catalog_items_fts(catalog_items_fts, rowid, {FTS_COLUMNS}) "
            f"VALUES ('delete', old.id, {old}); "
            f"INSERT INTO catalog_items_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {new}); END"
        )
        op.execute("INSERT INTO catalog_items_fts(catalog_items_fts) VALUES ('rebuild')")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_catalog_items_search_trgm")
    elif bind.dialect.name == "sqlite":
        for trigger in ("catalog_items_fts_ai", "catalog_items_fts_ad", "catalog_items_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS catalog_items_fts")
    with op.batch_alter_table("catalogs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalogs_published_at"))


def _sqlite_has_fts5_trigram(bind) -> bool:
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.procure_fts_probe USING fts5(x, tokenize='trigram')")
        bind.exec_driver_sql("DROP TABLE temp.procure_fts_probe")
        return True
    except sa.exc.OperationalError:
        return False
