"""users.large_text: the 大字版 (larger text) setting of an account

Revision ID: 0008
Revises: 0014
Create Date: 2026-11-29 03:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("large_text", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("large_text")
