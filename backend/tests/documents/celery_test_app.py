"""The worker entry point of the tests: the app's own, with Redis redelivery checked often."""

from __future__ import annotations

from app.core.worker import create_worker_app

app = create_worker_app()

if app.conf.broker_url.startswith("redis"):
    # Kombu looks for unacknowledged messages past the visibility timeout only every
    # ~100 s by default; tests with a short timeout should not wait for that.
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
