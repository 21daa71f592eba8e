from __future__ import annotations

from fastapi import APIRouter, Request

from app.billing import checkout, service, webhooks
from app.billing.dependencies import StripeDep
from app.billing.schemas import (
    CheckoutRequest,
    PlanList,
    RedirectUrl,
    SubscriptionPublic,
    WebhookAck,
)
from app.core.runtime import RuntimeDep, SessionDep
from app.users.dependencies import CurrentUser

router = APIRouter(prefix="/billing", tags=["billing"])


@router.get("/plans", response_model=PlanList)
async def list_plans(session: SessionDep, runtime: RuntimeDep) -> PlanList:
    """Every plan with its limits (null = unlimited). Public."""
    return await service.list_plan_views(session, settings=runtime.settings)


@router.get("/subscription", response_model=SubscriptionPublic)
async def get_subscription(
    user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> SubscriptionPublic:
    """Your plan, its status and period, and your usage against each limit."""
    return await service.overview(session, user.id, settings=runtime.settings)


@router.post("/checkout", response_model=RedirectUrl)
async def start_checkout(
    data: CheckoutRequest,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    stripe: StripeDep,
) -> RedirectUrl:
    """Open a Stripe Checkout for a paid plan; send the browser to the returned `url`."""
    url = await checkout.start_checkout(
        session, user, data.plan, settings=runtime.settings, stripe=stripe
    )
    return RedirectUrl(url=url)


@router.post("/portal", response_model=RedirectUrl)
async def open_portal(
    user: CurrentUser, session: SessionDep, runtime: RuntimeDep, stripe: StripeDep
) -> RedirectUrl:
    """Open the Stripe billing portal (change plan, payment method, invoices, cancel)."""
    return RedirectUrl(
        url=await checkout.open_portal(session, user, settings=runtime.settings, stripe=stripe)
    )


@router.post("/webhook", response_model=WebhookAck)
async def stripe_webhook(request: Request, session: SessionDep, runtime: RuntimeDep) -> WebhookAck:
    """Stripe events, verified with the `Stripe-Signature` header on the raw body."""
    payload = await request.body()
    signature = request.headers.get("stripe-signature")
    applied = await webhooks.handle(session, payload, signature, settings=runtime.settings)
    return WebhookAck(duplicate=not applied)
