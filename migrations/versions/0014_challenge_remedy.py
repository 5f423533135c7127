"""challenges: what an upheld challenge led to (re-opened evaluation or cancelled tender); awards: the contract flag last told to officers

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 04:00:00

The tenders' new statuses (evaluating, awarded, contracted, evaluated) need no
schema change: ``tenders.status`` is a VARCHAR(16) without a CHECK constraint.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remedy', sa.String(length=20), nullable=False, server_default=''))
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_flag', sa.String(length=10), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_column('contract_flag')
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_column('remedy')
