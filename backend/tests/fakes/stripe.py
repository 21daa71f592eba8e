"""A fake of the Stripe API calls ChatSphere makes, and webhook events signed the way Stripe signs.

The official stripe SDK is pointed at it with `STRIPE_API_BASE`. It serves
`POST /v1/customers` (honouring `Idempotency-Key`), `POST /v1/checkout/sessions` and
`POST /v1/billing_portal/sessions`, and records the form fields the SDK sent.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from typing import Any

import stripe

from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:14]}"


def fields(req: RecordedRequest) -> dict[str, str]:
    """The form the SDK posted, flattened: {"line_items[0][price]": "price_pro", ...}."""
    return {key: values[0] for key, values in req.form().items()}


class FakeStripe:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.reset()
        server.route("POST", r"/v1/customers")(self._customer)
        server.route("POST", r"/v1/checkout/sessions")(self._checkout)
        server.route("POST", r"/v1/billing_portal/sessions")(self._portal)

    @property
    def url(self) -> str:
        return self.server.url

    def reset(self) -> None:
        self.customers: list[dict[str, str]] = []
        self.checkouts: list[dict[str, str]] = []
        self.portals: list[dict[str, str]] = []
        self._by_idempotency_key: dict[str, dict[str, Any]] = {}
        self._failures: deque[tuple[str, int, str]] = deque()

    def fail(self, path: str, status: int = 400, code: str = "resource_missing") -> None:
        """Answer the next call to `path` (e.g. "/v1/checkout/sessions") with a Stripe error."""
        self._failures.append((path, status, code))

    # --- serving ---------------------------------------------------------------------
    def _failure(self, req: RecordedRequest) -> FakeResponse | None:
        if self._failures and self._failures[0][0] == req.path:
            _, status, code = self._failures.popleft()
            error = {"type": "invalid_request_error", "code": code, "message": f"fake {code}"}
            return FakeResponse.json({"error": error}, status)
        return None

    def _customer(self, req: RecordedRequest) -> FakeResponse:
        if failed := self._failure(req):
            return failed
        key = req.headers.get("idempotency-key")
        if key and key in self._by_idempotency_key:
            return FakeResponse.json(self._by_idempotency_key[key])
        form = fields(req)
        self.customers.append(form)
        body = {"id": _id("cus"), "object": "customer", "email": form.get("email")}
        if key:
            self._by_idempotency_key[key] = body
        return FakeResponse.json(body)

    def _checkout(self, req: RecordedRequest) -> FakeResponse:
        if failed := self._failure(req):
            return failed
        form = fields(req)
        self.checkouts.append(form)
        session_id = _id("cs_test")
        body = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "customer": form.get("customer"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }
        return FakeResponse.json(body)

    def _portal(self, req: RecordedRequest) -> FakeResponse:
        if failed := self._failure(req):
            return failed
        form = fields(req)
        self.portals.append(form)
        session_id = _id("bps")
        body = {
            "id": session_id,
            "object": "billing_portal.session",
            "url": f"https://billing.stripe.test/p/session/{session_id}",
        }
        return FakeResponse.json(body)


# --- Webhook events --------------------------------------------------------------------


def event(
    type_: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "livemode": False,
        "type": type_,
        "data": {"object": obj},
        "pending_webhooks": 1,
        "request": {"id": None},
    }


def subscription(
    sub_id: str,
    *,
    customer: str,
    price: str,
    status: str = "active",
    account_id: str | None = None,
    period: tuple[int, int] | None = None,
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    now = int(time.time())
    start, end = period or (now - 86400, now + 29 * 86400)
    item = {
        "id": _id("si"),
        "object": "subscription_item",
        "price": {"id": price, "object": "price"},
        "current_period_start": start,
        "current_period_end": end,
        "quantity": 1,
    }
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "created": start,
        "metadata": {"account_id": account_id} if account_id else {},
        "items": {"object": "list", "data": [item]},
    }


def invoice(sub_id: str, *, customer: str, period: tuple[int, int]) -> dict[str, Any]:
    line = {
        "id": _id("il"),
        "object": "line_item",
        "period": {"start": period[0], "end": period[1]},
    }
    return {
        "id": _id("in"),
        "object": "invoice",
        "customer": customer,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id, "metadata": {}},
        },
        "lines": {"object": "list", "data": [line]},
    }


def checkout_completed(*, customer: str, sub_id: str, account_id: str) -> dict[str, Any]:
    return {
        "id": _id("cs_test"),
        "object": "checkout.session",
        "mode": "subscription",
        "customer": customer,
        "subscription": sub_id,
        "client_reference_id": account_id,
        "payment_status": "paid",
        "status": "complete",
    }


def signed(
    payload: dict[str, Any] | str, secret: str, timestamp: int | None = None
) -> tuple[str, dict[str, str]]:
    """(body, headers) as Stripe would deliver them."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}
