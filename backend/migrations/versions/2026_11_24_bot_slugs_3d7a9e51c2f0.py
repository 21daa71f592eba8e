"""bot slugs: each bot gets a slug, unique per owner, naming it as a model in /openai

Revision ID: 3d7a9e51c2f0
Revises: 8c2f41d0e6b3
Create Date: 2026-11-24 15:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d7a9e51c2f0"
down_revision: str | tuple[str, ...] | None = "8c2f41d0e6b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("slug", sa.String(length=64), nullable=True))
    bots = sa.table("bots", sa.column("id"), sa.column("owner_id"), sa.column("name"),
                    sa.column("slug"))  # fmt: skip
    conn = op.get_bind()
    taken: set[tuple[object, str]] = set()
    for bot_id, owner_id, name in conn.execute(sa.select(bots.c.id, bots.c.owner_id, bots.c.name)):
        base = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")[:60].strip("-") or "bot"
        slug, n = base, 2
        while (owner_id, slug) in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add((owner_id, slug))
        conn.execute(bots.update().where(bots.c.id == bot_id).values(slug=slug))
    with op.batch_alter_table("bots") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_bots_owner_id_slug", ["owner_id", "slug"])


def downgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.drop_constraint("uq_bots_owner_id_slug", type_="unique")
        batch.drop_column("slug")
