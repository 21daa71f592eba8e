"""Checkout and the billing portal: the two calls that send the owner to Stripe."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.exceptions import AlreadySubscribed, PlanNotAvailable
from app.billing.models import Subscription
from app.billing.service import FREE_PLAN, GRANTING_STATUSES, lock_subscription, price_for
from app.billing.stripe_service import StripeService
from app.core.config import Settings
from app.users.models import Principal


def _return_url(configured: str | None, settings: Settings, default_path: str) -> str:
    return configured or settings.public_base_url.rstrip("/") + default_path


async def _customer_id(
    session: AsyncSession, stripe: StripeService, sub: Subscription, user: Principal
) -> str:
    """Reuse the account's Stripe customer, or create it (the row is locked by the caller)."""
    if sub.stripe_customer_id is None:
        sub.stripe_customer_id = await stripe.create_customer(
            account_id=user.id, email=user.email, name=user.full_name
        )
        await session.flush()
    return sub.stripe_customer_id


async def start_checkout(
    session: AsyncSession, user: Principal, plan: str, *, settings: Settings, stripe: StripeService
) -> str:
    """A Stripe Checkout Session in subscription mode for `plan`; returns its URL."""
    price = price_for(settings, plan)
    if price is None:
        raise PlanNotAvailable(
            f"The {plan} plan has no Stripe price configured.", details={"plan": plan}
        )
    sub = await lock_subscription(session, user.id)
    if sub.plan != FREE_PLAN and sub.status in GRANTING_STATUSES:
        raise AlreadySubscribed(details={"plan": sub.plan})
    customer_id = await _customer_id(session, stripe, sub, user)
    return await stripe.create_checkout_session(
        account_id=user.id,
        customer_id=customer_id,
        price_id=price,
        success_url=_return_url(
            settings.stripe_success_url,
            settings,
            "/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
        ),
        cancel_url=_return_url(settings.stripe_cancel_url, settings, "/billing?checkout=canceled"),
    )


async def open_portal(
    session: AsyncSession, user: Principal, *, settings: Settings, stripe: StripeService
) -> str:
    """A Stripe billing portal session for the account's customer; returns its URL."""
    sub = await lock_subscription(session, user.id)
    customer_id = await _customer_id(session, stripe, sub, user)
    return await stripe.create_portal_session(
        customer_id=customer_id,
        return_url=_return_url(settings.stripe_portal_return_url, settings, "/billing"),
    )
