"""tasks calendar sync state (CalDAV connections and the objects of each task)

Revision ID: tasks_0003
Revises: tasks_0002
Create Date: 2026-12-07 22:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

import crmcore.api

revision = "tasks_0003"
down_revision = "tasks_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks_calendar_connections",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("login", sa.String(length=200), nullable=True),
        sa.Column("password_ref", sa.String(length=200), nullable=True),
        sa.Column("style", sa.String(length=10), nullable=False),
        sa.Column("sync_token", sa.String(length=500), nullable=True),
        sa.Column("last_sync_at", crmcore.api.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", crmcore.api.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["tasks_users.username"],
            name=op.f("fk_tasks_calendar_connections_username_tasks_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_tasks_calendar_connections")),
    )
    op.create_table(
        "tasks_calendar_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("href", sa.String(length=1000), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("synced_sequence", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks_tasks.id"],
            name=op.f("fk_tasks_calendar_items_task_id_tasks_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["username"],
            ["tasks_calendar_connections.username"],
            name=op.f("fk_tasks_calendar_items_username_tasks_calendar_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks_calendar_items")),
        sa.UniqueConstraint("username", "href", name="uq_tasks_calendar_items_username_href"),
        sa.UniqueConstraint("username", "task_id", name="uq_tasks_calendar_items_username_task_id"),
    )
    with op.batch_alter_table("tasks_calendar_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_calendar_items_task_id"), ["task_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_calendar_items_username"), ["username"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks_calendar_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_calendar_items_username"))
        batch_op.drop_index(batch_op.f("ix_tasks_calendar_items_task_id"))
    op.drop_table("tasks_calendar_items")
    op.drop_table("tasks_calendar_connections")
