"""The one wrapper around the official Stripe SDK: async calls; errors → `StripeUnavailable`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import stripe

from app.billing.exceptions import (
    BillingNotConfigured,
    InvalidPayload,
    InvalidSignature,
    StripeUnavailable,
)
from app.core.config import Settings
from app.core.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")
TIMEOUT_SECONDS = 20


class StripeService:
    def __init__(self, settings: Settings) -> None:
        if not settings.stripe_secret_key:
            raise BillingNotConfigured()
        # httpx-backed so the SDK's *_async methods do not block the event loop.
        self._http = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self._client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=self._http,
            max_network_retries=2,
        )

    async def aclose(self) -> None:
        await self._http.close_async()

    async def create_customer(self, *, account_id: uuid.UUID, email: str, name: str) -> str:
        params: Any = {"email": email, "name": name, "metadata": {"account_id": str(account_id)}}
        # Two concurrent checkouts of one account get the same customer.
        options: Any = {"idempotency_key": f"chatsphere-customer-{account_id}"}
        customer = await self._call(self._client.v1.customers.create_async(params, options))
        return customer.id

    async def create_checkout_session(
        self,
        *,
        account_id: uuid.UUID,
        customer_id: str,
        price_id: str,
        success_url: str,
        cancel_url: str,
    ) -> str:
        metadata = {"account_id": str(account_id)}
        params: Any = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(account_id),
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            # Subscription events then name the account even before checkout completes.
            "subscription_data": {"metadata": metadata},
        }
        session = await self._call(self._client.v1.checkout.sessions.create_async(params))
        return session.url

    async def create_portal_session(self, *, customer_id: str, return_url: str) -> str:
        params: Any = {"customer": customer_id, "return_url": return_url}
        session = await self._call(self._client.v1.billing_portal.sessions.create_async(params))
        return session.url

    async def _call(self, request: Awaitable[T]) -> T:
        try:
            return await request
        except stripe.StripeError as exc:
            log.warning(
                "stripe_error",
                error_type=type(exc).__name__,
                code=exc.code,
                status=exc.http_status,
                message=exc.user_message,
            )
            raise StripeUnavailable(
                details={"stripe_error": type(exc).__name__, "stripe_code": exc.code}
            ) from exc


def construct_event(
    settings: Settings, payload: bytes, signature: str | None, tolerance: int = 300
) -> dict[str, Any]:
    """Verify the signature on the raw body; return the event as plain dicts."""
    if not settings.stripe_enabled or not settings.stripe_webhook_secret:
        raise BillingNotConfigured()
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.stripe_webhook_secret, tolerance=tolerance
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature() from exc
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise InvalidPayload() from exc  # signed, but not a JSON object (e.g. `[]` or `"x"`)
    return event.to_dict()


@asynccontextmanager
async def stripe_service(settings: Settings) -> AsyncIterator[StripeService]:
    service = StripeService(settings)
    try:
        yield service
    finally:
        await service.aclose()
