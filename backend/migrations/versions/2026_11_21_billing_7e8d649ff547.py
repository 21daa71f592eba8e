"""billing: plans (seeded), subscriptions, usage counters, processed Stripe events

Revision ID: 7e8d649ff547
Revises: 758573d2d31f
Create Date: 2026-11-21 09:18:20.506193
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e8d649ff547"
down_revision: str | None = "758573d2d31f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MB = 1024 * 1024
GB = 1024 * MB
# Limits are data: NULL is unlimited. PLAN_LIMITS overrides them at run time.
PLANS = [
    {
        "code": "free",
        "name": "Free",
        "sort_order": 0,
        "bots": 1,
        "documents": 20,
        "storage_bytes": 50 * MB,
        "messages_per_month": 200,
        "max_file_bytes": 5 * MB,
    },
    {
        "code": "pro",
        "name": "Pro",
        "sort_order": 1,
        "bots": 10,
        "documents": 1_000,
        "storage_bytes": 2 * GB,
        "messages_per_month": 10_000,
        "max_file_bytes": 20 * MB,
    },
    {
        "code": "business",
        "name": "Business",
        "sort_order": 2,
        "bots": 50,
        "documents": 10_000,
        "storage_bytes": 20 * GB,
        "messages_per_month": 100_000,
        "max_file_bytes": 50 * MB,
    },
    {
        "code": "self_hosted",
        "name": "Self-hosted",
        "sort_order": 3,
        "bots": None,
        "documents": None,
        "storage_bytes": None,
        "messages_per_month": None,
        "max_file_bytes": None,
    },
]


def upgrade() -> None:
    plans = op.create_table(
        "plans",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("bots", sa.Integer(), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=True),
        sa.Column("storage_bytes", sa.BigInteger(), nullable=True),
        sa.Column("messages_per_month", sa.Integer(), nullable=True),
        sa.Column("max_file_bytes", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_plans")),
    )
    op.bulk_insert(plans, PLANS)
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("stripe_state_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_account_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["plan"], ["plans.code"], name=op.f("fk_subscriptions_plan_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("account_id", name=op.f("uq_subscriptions_account_id")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_subscriptions_stripe_customer_id")),
        sa.UniqueConstraint(
            "stripe_subscription_id", name=op.f("uq_subscriptions_stripe_subscription_id")
        ),
    )
    op.create_table(
        "usage_counters",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["users.id"],
            name=op.f("fk_usage_counters_account_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "period_start", name=op.f("pk_usage_counters")),
    )


def downgrade() -> None:
    op.drop_table("usage_counters")
    op.drop_table("subscriptions")
    op.drop_table("stripe_events")
    op.drop_table("plans")
