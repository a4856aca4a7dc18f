"""saved customer segments

Revision ID: k0010_segments
Revises: k0009_import_runs
Create Date: 2026-12-07 18:45:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import crmcore.api

revision = "k0010_segments"
down_revision = "k0009_import_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "clauses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", crmcore.api.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_customer_segments_name")),
    )


def downgrade() -> None:
    op.drop_table("customer_segments")
