"""document parts: page ranges of long PDFs, parsed by any free worker

Revision ID: c9a4e1f7b352
Revises: b7e2c4d6f810
Create Date: 2026-12-04 15:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c9a4e1f7b352"
down_revision: str | tuple[str, ...] | None = "b7e2c4d6f810"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_parts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("first_page", sa.Integer(), nullable=False),
        sa.Column("last_page", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_parts_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_parts")),
        sa.UniqueConstraint(
            "document_id", "index", name=op.f("uq_document_parts_document_id_index")
        ),
    )
    op.create_index(
        op.f("ix_document_parts_document_id"), "document_parts", ["document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_document_parts_document_id"), table_name="document_parts")
    op.drop_table("document_parts")
