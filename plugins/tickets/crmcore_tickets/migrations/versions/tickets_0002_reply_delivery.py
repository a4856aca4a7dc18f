"""tickets: agents' replies delivered to the customer (email or SMS) with their status

Revision ID: tickets_0002
Revises: tickets_0001
Create Date: 2026-12-07 21:40:00
"""

import sqlalchemy as sa
from alembic import op

import crmcore.api

revision = "tickets_0002"
down_revision = "tickets_0001"
branch_labels = None
depends_on = None

COLUMNS = (
    "delivery_channel",
    "delivery_to",
    "delivery_status",
    "delivery_error",
    "delivery_attempts",
    "delivery_next_at",
    "delivery_ref",
    "sent_at",
)


def upgrade() -> None:
    moment = crmcore.api.UTCDateTime(timezone=True)
    with op.batch_alter_table("tickets_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_channel", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("delivery_to", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("delivery_next_at", moment, nullable=True))
        batch_op.add_column(sa.Column("delivery_ref", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("sent_at", moment, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_messages_delivery_status"), ["delivery_status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_messages_delivery_status"))
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
