"""catalog explanatory notes (the notes block under a county table); organizations' credit-code region flag and natural persons' encrypted identity number

Revision ID: 0015
Revises: 0012
Create Date: 2026-11-28 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("catalogs") as batch:
        batch.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("flag_region_mismatch", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("identity_encrypted", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("identity_digest", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_organizations_identity_digest", ["identity_digest"])


def downgrade():
    with op.batch_alter_table("organizations") as batch:
        batch.drop_constraint("uq_organizations_identity_digest", type_="unique")
        batch.drop_column("identity_digest")
        batch.drop_column("identity_encrypted")
        batch.drop_column("flag_region_mismatch")
    with op.batch_alter_table("catalogs") as batch:
        batch.drop_column("notes")
