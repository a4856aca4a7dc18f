"""{{ cookiecutter.plugin_name }} tables

Revision ID: {{ cookiecutter.plugin_name }}_0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import crmcore.api

revision = "{{ cookiecutter.plugin_name }}_0001"
down_revision = None
branch_labels = ("{{ cookiecutter.plugin_name }}",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "{{ cookiecutter.plugin_name }}_event_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("at", crmcore.api.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_{{ cookiecutter.plugin_name }}_event_notes_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_{{ cookiecutter.plugin_name }}_event_notes")),
    )
    op.create_index("ix_{{ cookiecutter.plugin_name }}_event_notes_customer", "{{ cookiecutter.plugin_name }}_event_notes",
                    ["customer_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_{{ cookiecutter.plugin_name }}_event_notes_customer", table_name="{{ cookiecutter.plugin_name }}_event_notes")
    op.drop_table("{{ cookiecutter.plugin_name }}_event_notes")
