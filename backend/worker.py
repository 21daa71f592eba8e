"""Celery entry point: `celery -A worker worker` (and `celery -A worker beat`) from backend/."""

from app.core.worker import create_worker_app

app = create_worker_app()
