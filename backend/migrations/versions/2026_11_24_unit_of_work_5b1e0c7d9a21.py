"""unit of work: conversation counts kept by each chat turn; users' token version

Revision ID: 5b1e0c7d9a21
Revises: a617acb97710
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e0c7d9a21"
down_revision: str | tuple[str, ...] | None = "a617acb97710"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("token_version", server_default=None)
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(
            sa.Column("message_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))
    # Conversations from before this revision get their counts once.
    op.execute(
        """
        UPDATE conversations SET
            message_count = (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id),
            last_message_at = (SELECT max(m.created_at) FROM messages m
                               WHERE m.conversation_id = conversations.id)
        """
    )
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("message_count", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_message_at")
        batch.drop_column("message_count")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
