from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LimitsPublic(BaseModel):
    """Each limit; null means unlimited."""

    model_config = ConfigDict(from_attributes=True)

    bots: int | None
    documents: int | None
    storage_bytes: int | None
    messages_per_month: int | None
    max_file_bytes: int | None


class PlanPublic(BaseModel):
    code: str
    name: str
    limits: LimitsPublic
    purchasable: bool = Field(description="Can be bought through POST /billing/checkout here.")


class PlanList(BaseModel):
    items: list[PlanPublic]
    billing_configured: bool


class UsageItem(BaseModel):
    used: int
    limit: int | None


class UsagePublic(BaseModel):
    bots: UsageItem
    documents: UsageItem
    storage_bytes: UsageItem
    messages: UsageItem = Field(description="Messages in the current usage period.")


class SubscriptionPublic(BaseModel):
    plan: str
    status: Literal["active", "trialing", "past_due", "canceled", "incomplete"]
    billing_configured: bool
    cancel_at_period_end: bool
    current_period_start: datetime | None
    current_period_end: datetime | None
    usage_period_start: datetime
    usage_period_end: datetime
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    stripe_state_at: datetime | None = Field(
        description="Creation time of the last Stripe state applied."
    )
    limits: LimitsPublic
    usage: UsagePublic


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: Literal["pro", "business"]


class RedirectUrl(BaseModel):
    url: str


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool = Field(description="The event was already processed; nothing changed.")
