from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import Settings


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = Settings(_env_file=None, data_dir=tmp_path).resolved_secret_key
    second = Settings(_env_file=None, data_dir=tmp_path).resolved_secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("secret", [None, "changeme", "secret", "short-but-random"])
def test_production_refuses_placeholder_secrets(tmp_path, secret):
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, data_dir=tmp_path, environment="production", secret_key=secret)


def test_production_accepts_a_real_secret(tmp_path):
    s = Settings(_env_file=None, data_dir=tmp_path, environment="production", secret_key="k" * 48)
    assert s.resolved_secret_key == "k" * 48


def test_environment_variables_use_spec_names(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/chat")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("MAX_UPLOAD_MB", "7")
    s = Settings(_env_file=None, data_dir=tmp_path)
    assert s.resolved_database_url == "postgresql+asyncpg://u:p@db:5432/chat"
    assert s.cors_origins == ["https://a.example", "https://b.example"]
    assert s.max_upload_bytes == 7 * 1024 * 1024


def test_agent_settings_are_read_from_flat_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("GEMINI_API_KEY", "from-env")
    monkeypatch.setenv("EMBEDDING_DIM", "1536")
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", "12.5")
    monkeypatch.setenv("MAX_PDF_PAGES", "50")
    (tmp_path / ".env").write_text(
        "PINECONE_INDEX_HOST=https://index.example\nGEMINI_API_KEY=from-file\n"
    )
    s = Settings(_env_file=tmp_path / ".env", data_dir=tmp_path)
    assert s.agent.gemini_api_key == "from-env"  # the environment wins over .env
    assert s.agent.pinecone_index_host == "https://index.example"
    assert (s.agent.embedding_dim, s.agent.llm_timeout_seconds) == (1536, 12.5)
    assert s.agent.max_pdf_pages == 50


def test_the_workers_byte_limit_is_the_upload_limit(monkeypatch, tmp_path):
    # Otherwise an upload the API accepted above 20 MB fails in the worker.
    monkeypatch.setenv("MAX_UPLOAD_MB", "50")
    s = Settings(_env_file=None, data_dir=tmp_path)
    assert s.agent.max_document_bytes == s.max_upload_bytes == 50 * 1024 * 1024


def test_embedded_default_modes(monkeypatch, tmp_path):
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "GEMINI_API_KEY",
        "STRIPE_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None, data_dir=tmp_path)
    modes = s.modes()
    assert set(modes) == {
        "database",
        "queue",
        "cache",
        "embeddings",
        "vector_store",
        "llm",
        "billing",
    }
    assert modes["database"].startswith("sqlite")
    assert s.resolved_broker_url.startswith("sqla+sqlite:///")
    assert modes["llm"] == "local extractive answerer"
    assert modes["billing"].startswith("not configured")


def test_modes_never_print_database_passwords(tmp_path):
    s = Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql://u:hunter2@db/chat")
    assert "hunter2" not in s.modes()["database"]


def test_env_example_loads_as_the_embedded_default(tmp_path, monkeypatch):
    """Copying .env.example to .env must start the app, with every blank left unset."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / ".env.example"
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=example, data_dir=tmp_path)
    assert s.database_url is None and s.agent.gemini_api_key is None and s.plan_limits == {}
    assert s.modes()["database"].startswith("sqlite")


def test_invalid_settings_stop_start_up_with_a_readable_message(monkeypatch, tmp_path):
    from app.core.config import get_settings

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "changeme")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        get_settings()
    message = str(exc.value)
    assert message.startswith("ChatSphere cannot start") and "SECRET_KEY must be set" in message
    assert "Traceback" not in message
