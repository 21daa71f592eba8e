"""Imports every domain's models so SQLAlchemy and Alembic see all tables."""


def load_all_models() -> None:
    import app.bots.models  # noqa: F401
    import app.users.models  # noqa: F401
