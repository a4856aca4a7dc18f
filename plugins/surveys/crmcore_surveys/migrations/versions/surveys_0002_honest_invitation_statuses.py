"""honest invitation statuses: created/queued (sent and delivered come from the channel's log)

Revision ID: surveys_0002
Revises: surveys_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "surveys_0002"
down_revision = "surveys_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("surveys_invitations") as batch:
        batch.add_column(sa.Column("delivery_ref", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("delivery_note", sa.String(length=300), nullable=True))
    # Nothing recorded whether a channel took the invitations marked 'sent' before this revision
    # (they were marked so whether or not a message trigger existed): they become 'created' and
    # say why.
    op.execute("UPDATE surveys_invitations SET status = 'created' WHERE status = 'scheduled'")
    op.execute(
        "UPDATE surveys_invitations SET status = 'created', delivery_note = "
        "'handed to the channels before deliveries were tracked; not known to be sent' "
        "WHERE status = 'sent'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE surveys_invitations SET status = 'sent' "
        "WHERE status = 'queued' OR (status = 'created' AND sent_at IS NOT NULL)"
    )
    op.execute("UPDATE surveys_invitations SET status = 'scheduled' WHERE status = 'created'")
    with op.batch_alter_table("surveys_invitations") as batch:
        batch.drop_column("delivery_note")
        batch.drop_column("delivery_ref")
