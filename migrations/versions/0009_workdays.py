"""workdays: the official working calendar, seeded from chinesecalendar (2004-2026)

Revision ID: 0009
Revises: 0015
Create Date: 2026-11-28 10:00:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    years = op.create_table(
        "workday_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Enum("chinesecalendar", "admin", name="yearsource", native_enum=False, length=20),
                  nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_by", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_workday_years")),
    )
    days = op.create_table(
        "workday_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_workday_days")),
    )
    with op.batch_alter_table("workday_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workday_days_year"), ["year"], unique=False)

    # Seed every year chinesecalendar knows (data of the pinned release).
    from chinese_calendar import constants

    rows = [{"day": d, "year": d.year, "is_workday": False, "name": str(n)[:60]} for d, n in constants.holidays.items()]
    rows += [{"day": d, "year": d.year, "is_workday": True, "name": str(n)[:60]} for d, n in constants.workdays.items()]
    now = datetime.now(timezone.utc)
    seeded = sorted({r["year"] for r in rows})
    op.bulk_insert(years, [{"year": y, "source": "chinesecalendar", "entered_at": now, "entered_by": ""}
                           for y in seeded])
    op.bulk_insert(days, sorted(rows, key=lambda r: r["day"]))


def downgrade():
    with op.batch_alter_table("workday_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workday_days_year"))
    op.drop_table("workday_days")
    op.drop_table("workday_years")
