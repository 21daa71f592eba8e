"""The app's Celery app, consuming and sending on a queue private to one test run."""

from __future__ import annotations

import os

from app.core.celery_app import celery_app

# Work a worker sends itself (retries, sweeps, re-queued documents) stays on this queue too.
celery_app.conf.task_default_queue = os.environ["TEST_CELERY_QUEUE"]

app = celery_app
