"""The app's Celery app, consuming and sending on a queue private to one test run."""

from __future__ import annotations

import os

from app.core.celery_app import celery_app

# Work a worker sends itself (retries, sweeps, re-queued documents) stays on this queue too.
celery_app.conf.task_default_queue = os.environ["TEST_CELERY_QUEUE"]

if celery_app.conf.broker_url.startswith("redis"):
    # Kombu looks for unacknowledged messages past the visibility timeout only every
    # ~100 s by default; tests with a short timeout should not wait for that.
    celery_app.conf.broker_transport_options = {
        **celery_app.conf.broker_transport_options,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

app = celery_app
