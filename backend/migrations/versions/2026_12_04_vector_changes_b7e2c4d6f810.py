"""local vector store: a change log, so a stale in-memory matrix reloads only changed rows

Revision ID: b7e2c4d6f810
Revises: a1d5e7f3c209
Create Date: 2026-12-04 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2c4d6f810"
down_revision: str | tuple[str, ...] | None = "a1d5e7f3c209"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_vector_changes",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "version", "id", name=op.f("pk_agent_vector_changes")),
    )


def downgrade() -> None:
    op.drop_table("agent_vector_changes")
