"""members' lottery codes; frozen lists name members by code

Revision ID: lottery_0002
Revises: lottery_0001
"""

import sqlalchemy as sa
from alembic import op

import crmcore.api

revision = "lottery_0002"
down_revision = "lottery_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lottery_members",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.BigInteger(), nullable=False),
        sa.Column("created_at", crmcore.api.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_lottery_members_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_lottery_members")),
        sa.UniqueConstraint("code", name=op.f("uq_lottery_members_code")),
    )
    # campaigns closed before codes existed were hashed with customer ids: they keep them
    with op.batch_alter_table("lottery_campaigns") as batch:
        batch.add_column(
            sa.Column(
                "participants_by", sa.String(length=16), nullable=False, server_default="customer"
            )
        )
    with op.batch_alter_table("lottery_campaigns") as batch:
        batch.alter_column("participants_by", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("lottery_campaigns") as batch:
        batch.drop_column("participants_by")
    op.drop_table("lottery_members")
