from __future__ import annotations

from typing import ClassVar

from app.core.errors import AppError, ServiceUnavailable


class PlanLimitReached(AppError):
    """A new resource would go past the plan; existing ones stay readable."""

    status_code = 402
    code = "plan_limit_reached"
    message = "Your plan's limit is reached. Upgrade your plan to add more."

    def __init__(self, resource: str, *, limit: int, used: int, plan: str) -> None:
        super().__init__(
            f"Your {plan} plan allows {_describe(resource, limit)}; upgrade your plan for more.",
            details={"resource": resource, "limit": limit, "used": used, "plan": plan},
        )


def _describe(resource: str, limit: int) -> str:
    if resource in ("storage_bytes", "max_file_bytes"):
        size = f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
        return f"{size} of storage" if resource == "storage_bytes" else f"files up to {size}"
    noun = {"bots": "bot", "documents": "document", "messages_per_month": "message"}[resource]
    suffix = " per usage period" if resource == "messages_per_month" else ""
    return f"{limit} {noun}{'' if limit == 1 else 's'}{suffix}"


class BillingNotConfigured(ServiceUnavailable):
    code = "billing_not_configured"
    message = "Billing is not configured on this server; every account is on the self-hosted plan."


class StripeUnavailable(AppError):
    status_code = 502
    code = "stripe_error"
    message = "The payment provider could not complete the request. Try again later."
    # Keep what already happened at Stripe (e.g. the customer created before the failure).
    commit_on_raise: ClassVar[bool] = True


class InvalidSignature(AppError):
    status_code = 400
    code = "invalid_signature"
    message = "The Stripe-Signature header is missing, wrong or too old."


class InvalidPayload(AppError):
    status_code = 400
    code = "invalid_payload"
    message = "The webhook body is not a Stripe event."


class PlanNotAvailable(AppError):
    status_code = 400
    code = "plan_not_available"
    message = "This plan cannot be bought on this server."


class AlreadySubscribed(AppError):
    status_code = 409
    code = "already_subscribed"
    message = "You already have a paid subscription; change it in the billing portal."


class PlanNotFound(AppError):
    status_code = 500
    code = "plan_not_found"
    message = "The account's plan is not configured on this server."
