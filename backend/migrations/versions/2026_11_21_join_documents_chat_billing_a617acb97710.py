"""join documents chat billing: the domain branches meet, so there is one head again

Revision ID: a617acb97710
Revises: 7e8d649ff547, 73cc82209f1b, c580bd1a3c32
Create Date: 2026-11-21 10:18:38.370724
"""

from collections.abc import Sequence

revision: str = "a617acb97710"
down_revision: str | tuple[str, ...] | None = ("7e8d649ff547", "73cc82209f1b", "c580bd1a3c32")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
