"""search: name token counts, phone numbers by reversed digits, names with their ids

Revision ID: k0008_search
Revises: k0007_ownership
Create Date: 2026-12-07 18:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "k0008_search"
down_revision = "k0007_ownership"
branch_labels = None
depends_on = None

# crmcore.services.search_plan.PHONE_REVERSED, as it was when this revision was written
PHONE_REVERSED = {
    "sqlite": " || ".join(f"substr(e164, -{i}, 1)" for i in range(1, 21)),
    "postgresql": "reverse(e164)",
}


def upgrade() -> None:
    op.create_table(
        "customer_search_token_counts",
        sa.Column("token", sa.String(length=300), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_customer_search_token_counts")),
        sqlite_with_rowid=False,
    )
    # the existing customers' tokens, counted
    op.execute(
        "INSERT INTO customer_search_token_counts (token, customers) "
        "SELECT token, count(*) FROM customer_search_tokens GROUP BY token"
    )
    expression = PHONE_REVERSED[op.get_bind().dialect.name]
    op.execute(f"CREATE INDEX ix_customer_phones_e164_reversed ON customer_phones ({expression})")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_search_key")
        batch_op.create_index("ix_customers_search_key", ["search_key", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_search_key")
        batch_op.create_index("ix_customers_search_key", ["search_key"], unique=False)
    op.execute("DROP INDEX ix_customer_phones_e164_reversed")
    op.drop_table("customer_search_token_counts")
