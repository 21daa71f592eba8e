"""ingestion claims: documents held by a run's lease or a retry's backoff, owners' turns

Revision ID: a1d5e7f3c209
Revises: 9c4f6a2b3d85
Create Date: 2026-12-04 14:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1d5e7f3c209"
down_revision: str | tuple[str, ...] | None = "9c4f6a2b3d85"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "ingest_turns",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("owner_id"),
    )


def downgrade() -> None:
    op.drop_table("ingest_turns")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("held_until")
