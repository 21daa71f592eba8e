"""Imports every domain's models so SQLAlchemy and Alembic see all tables."""

import importlib
import pkgutil
from pathlib import Path

_APP_DIR = Path(__file__).parent


def load_all_models() -> None:
    for module in pkgutil.iter_modules([str(_APP_DIR)]):
        if module.ispkg and (_APP_DIR / module.name / "models.py").exists():
            importlib.import_module(f"app.{module.name}.models")
