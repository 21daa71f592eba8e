"""api key scopes: a key may be limited to some bots and some scopes (NULL: all, as before)

Revision ID: 8c2f41d0e6b3
Revises: 5b1e0c7d9a21
Create Date: 2026-11-24 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c2f41d0e6b3"
down_revision: str | tuple[str, ...] | None = "5b1e0c7d9a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("bot_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("bot_ids")
        batch.drop_column("scopes")
