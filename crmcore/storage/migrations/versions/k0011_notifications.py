"""staff notifications: user_notifications, and the users' own email, phone and channels

Revision ID: k0011_notifications
Revises: k0010_segments
Create Date: 2026-12-07 21:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import crmcore.api

revision = "k0011_notifications"
down_revision = "k0010_segments"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # plain ADD COLUMN (no batch rebuild of web_users: its sessions and tokens cascade on delete)
    op.add_column("web_users", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column("web_users", sa.Column("phone", sa.String(length=20), nullable=True))
    op.add_column("web_users", sa.Column("notify_channels", JSON, nullable=True))
    op.create_table(
        "user_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column("deliveries", JSON, nullable=False),
        sa.Column("created_at", crmcore.api.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", crmcore.api.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["web_users.id"],
            ondelete="CASCADE",
            name=op.f("fk_user_notifications_user_id_web_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_notifications")),
    )
    op.create_index(
        "ix_user_notifications_user_read",
        "user_notifications",
        ["user_id", "read_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_user_notifications_user_key",
        "user_notifications",
        ["user_id", "dedup_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_user_notifications_user_key", table_name="user_notifications")
    op.drop_index("ix_user_notifications_user_read", table_name="user_notifications")
    op.drop_table("user_notifications")
    with op.batch_alter_table("web_users") as batch_op:
        batch_op.drop_column("notify_channels")
        batch_op.drop_column("phone")
        batch_op.drop_column("email")
