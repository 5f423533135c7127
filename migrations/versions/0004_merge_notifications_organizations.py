"""merge the notifications and organizations branches into one head

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-28 05:15:00

"""

revision = "0004"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
