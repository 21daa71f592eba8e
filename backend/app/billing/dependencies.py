from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends

from app.billing.stripe_service import StripeService, stripe_service
from app.core.runtime import RuntimeDep


async def get_stripe(runtime: RuntimeDep) -> AsyncIterator[StripeService]:
    """The Stripe client for one request; 503 `billing_not_configured` without Stripe settings."""
    async with stripe_service(runtime.settings) as stripe:
        yield stripe


StripeDep = Annotated[StripeService, Depends(get_stripe)]
