"""the chat channel: linked chats and the bot's messages

Revision ID: messaging_0002
Revises: messaging_0001
Create Date: 2026-12-07 22:50:00
"""

import sqlalchemy as sa
from alembic import op

import crmcore.api

revision = "messaging_0002"
down_revision = "messaging_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messaging_chat_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("created_at", crmcore.api.UTCDateTime(timezone=True), nullable=False),
        sa.Column("linked_at", crmcore.api.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_messaging_chat_links_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messaging_chat_links")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_messaging_chat_links_chat_id")),
    )
    with op.batch_alter_table("messaging_chat_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messaging_chat_links_customer_id"), ["customer_id"], unique=False
        )
    op.create_table(
        "messaging_chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=40), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", crmcore.api.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_messaging_chat_messages_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messaging_chat_messages")),
        sa.UniqueConstraint("update_id", name=op.f("uq_messaging_chat_messages_update_id")),
    )
    with op.batch_alter_table("messaging_chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messaging_chat_messages_chat_id"), ["chat_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_messaging_chat_messages_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("messaging_chat_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messaging_chat_messages_customer_id"))
        batch_op.drop_index(batch_op.f("ix_messaging_chat_messages_chat_id"))
    op.drop_table("messaging_chat_messages")
    with op.batch_alter_table("messaging_chat_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messaging_chat_links_customer_id"))
    op.drop_table("messaging_chat_links")
