"""ingestion progress: pages parsed and chunks embedded, for live progress and an ETA

Revision ID: 9c4f6a2b3d85
Revises: 8b3e5f1a2c74
Create Date: 2026-11-24 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4f6a2b3d85"
down_revision: str | tuple[str, ...] | None = "8b3e5f1a2c74"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("pages_done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("chunks_embedded", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("UPDATE documents SET pages_done = coalesce(page_count, 0), "
               "chunks_embedded = chunk_count WHERE status = 'ready'")  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("chunks_embedded")
        batch.drop_column("pages_done")
