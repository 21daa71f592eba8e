"""ASGI entry point: `uvicorn main:app` from backend/."""

from app.main import create_app

app = create_app()
