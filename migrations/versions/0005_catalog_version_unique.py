"""one draft and one published catalog version per county and year (partial unique indexes)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    for name, status in (("uq_catalogs_one_draft_per_year", "draft"), ("uq_catalogs_one_published_per_year", "published")):
        where = sa.text(f"status = '{status}'")
        op.create_index(
            name, "catalogs", ["county_id", "year"], unique=True, postgresql_where=where, sqlite_where=where
        )


def downgrade():
    op.drop_index("uq_catalogs_one_published_per_year", table_name="catalogs")
    op.drop_index("uq_catalogs_one_draft_per_year", table_name="catalogs")
