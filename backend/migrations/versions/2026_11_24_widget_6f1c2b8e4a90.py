"""widget: bot theme colour and daily message limit; the origin of a visitor's conversation

Revision ID: 6f1c2b8e4a90
Revises: 3d7a9e51c2f0
Create Date: 2026-11-24 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6f1c2b8e4a90"
down_revision: str | tuple[str, ...] | None = "3d7a9e51c2f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("theme_color", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("daily_message_limit", sa.Integer(), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("daily_message_limit")
        batch.drop_column("theme_color")
