from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.billing.models import StripeEvent
from app.billing.tasks import EVENT_RETENTION, prune_stripe_events
from app.core.db import utcnow


async def test_old_processed_events_are_pruned(live_runtime):
    now = utcnow()
    async with live_runtime.sessionmaker() as session:
        session.add_all(
            [
                StripeEvent(
                    id="evt_old",
                    type="invoice.paid",
                    created=now,
                    received_at=now - EVENT_RETENTION - timedelta(hours=1),
                ),
                StripeEvent(id="evt_recent", type="invoice.paid", created=now, received_at=now),
            ]
        )
        await session.commit()
    assert await prune_stripe_events(live_runtime) == 1
    async with live_runtime.sessionmaker() as session:
        assert list(await session.scalars(select(StripeEvent.id))) == ["evt_recent"]
