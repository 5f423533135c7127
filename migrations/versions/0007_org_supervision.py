"""organizations: suspension owner, code reserved only by confirmed
registrations, former memberships

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_reserved", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("suspended_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("suspended_by_county_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_organizations_suspended_by_id_users"), "users", ["suspended_by_id"], ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_organizations_suspended_by_county_id_divisions"), "divisions",
            ["suspended_by_county_id"], ["id"],
        )
        batch_op.drop_constraint("uq_organizations_credit_code", type_="unique")
        batch_op.create_index(batch_op.f("ix_organizations_credit_code"), ["credit_code"], unique=False)
    # Existing registrations were made before this rule: each holds its code
    # (the unique constraint guaranteed one per code) and counts as confirmed.
    op.execute("UPDATE organizations SET code_reserved = true, confirmed_at = created_at")
    # A suspension running now was imposed by the home county's officers.
    op.execute("UPDATE organizations SET suspended_by_county_id = county_id WHERE status = 'suspended'")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_organizations_reserved_credit_code", ["credit_code"], unique=True,
            postgresql_where=sa.text("code_reserved"), sqlite_where=sa.text("code_reserved"),
        )

    op.create_table(
        "organization_former_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name=op.f("fk_organization_former_members_organization_id_organizations"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_organization_former_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_former_members")),
    )
    with op.batch_alter_table("organization_former_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_former_members_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_organization_former_members_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("organization_former_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_former_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_organization_former_members_organization_id"))
    op.drop_table("organization_former_members")
    # Back to one organization per code: registrations not holding theirs go.
    op.execute("DELETE FROM organizations WHERE code_reserved = false")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index("uq_organizations_reserved_credit_code")
        batch_op.drop_index(batch_op.f("ix_organizations_credit_code"))
        batch_op.create_unique_constraint("uq_organizations_credit_code", ["credit_code"])
        batch_op.drop_constraint(batch_op.f("fk_organizations_suspended_by_county_id_divisions"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_organizations_suspended_by_id_users"), type_="foreignkey")
        batch_op.drop_column("suspended_by_county_id")
        batch_op.drop_column("suspended_by_id")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("code_reserved")
