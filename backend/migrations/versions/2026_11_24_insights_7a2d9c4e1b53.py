"""insights: unanswered questions and the owners' answers to them

Revision ID: 7a2d9c4e1b53
Revises: 6f1c2b8e4a90
Create Date: 2026-11-24 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a2d9c4e1b53"
down_revision: str | tuple[str, ...] | None = "6f1c2b8e4a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bot_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
            name=op.f("fk_unanswered_questions_bot_id_bots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_unanswered_questions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_questions")),
        sa.UniqueConstraint("message_id", name=op.f("uq_unanswered_questions_message_id")),
    )
    op.create_index(
        "ix_unanswered_questions_bot_created", "unanswered_questions", ["bot_id", "created_at"]
    )
    op.create_table(
        "insight_resolutions",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("bot_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
            name=op.f("fk_insight_resolutions_bot_id_bots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_insight_resolutions_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_insight_resolutions")),
    )
    op.create_index("ix_insight_resolutions_bot_id", "insight_resolutions", ["bot_id"])


def downgrade() -> None:
    op.drop_index("ix_insight_resolutions_bot_id", table_name="insight_resolutions")
    op.drop_table("insight_resolutions")
    op.drop_index("ix_unanswered_questions_bot_created", table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
