"""The one settings object. Every variable name matches SPEC; `.env` is read too."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agent.settings import AgentSettings

# Values people copy from examples; refused as SECRET_KEY in production.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "secret",
        "secret-key",
        "dev",
        "development",
        "test",
        "please-change-me",
        "replace-me-with-a-long-random-string",
    }
)

PlanLimitName = Literal[
    "bots", "documents", "storage_bytes", "messages_per_month", "max_file_bytes"
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    environment: Literal["development", "test", "production"] = "development"
    port: int = 8000
    data_dir: Path = Path("./data")
    database_url: str | None = None
    redis_url: str | None = None
    celery_broker_url: str | None = None
    secret_key: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    public_base_url: str = "http://localhost:8000"
    log_level: str = "INFO"
    log_json: bool = True

    access_token_minutes: int = 15
    refresh_token_days: int = 30
    login_rate_limit: str = "10/minute"

    gemini_api_key: str | None = None
    gemini_base_url: str | None = None
    gemini_chat_model: str = "gemini-2.5-flash"
    gemini_embedding_model: str = "gemini-embedding-001"
    embedding_dim: int = 768
    # How long one LLM request may take before it fails as `llm_timeout` (504).
    llm_timeout_seconds: float = 60.0
    pinecone_api_key: str | None = None
    pinecone_index_host: str | None = None

    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    stripe_price_pro: str | None = None
    stripe_price_business: str | None = None
    default_plan: str = "self_hosted"
    # Where Stripe sends the browser back; unset: pages under PUBLIC_BASE_URL.
    stripe_success_url: str | None = None
    stripe_cancel_url: str | None = None
    stripe_portal_return_url: str | None = None
    # Per-plan limit overrides as JSON, e.g. PLAN_LIMITS='{"free": {"bots": 3}}'; null = unlimited.
    plan_limits: dict[str, dict[PlanLimitName, int | None]] = Field(default_factory=dict)

    max_upload_mb: int = 20
    max_pdf_pages: int = 2000

    # Background work: stuck documents are re-queued after `stuck_after_seconds`.
    task_soft_time_limit: int = 900
    task_visibility_timeout: int = 3600
    sweep_interval_seconds: int = 60
    stuck_after_seconds: int = 1200
    # Provider hiccups (429/5xx/timeouts) retry a document with exponential backoff and jitter.
    ingest_max_retries: int = 6
    ingest_retry_backoff_seconds: int = 10

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        # Accept the URLs people already have (postgres://, postgresql://) and use asyncpg.
        if value and value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        return value or None

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production":
            key = (self.secret_key or "").strip()
            if key.lower() in PLACEHOLDER_SECRETS or len(key) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random string of at least 32 characters when "
                    "ENVIRONMENT=production (generate one with: python -c "
                    "'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    # Derived values -------------------------------------------------------------------

    @cached_property
    def resolved_database_url(self) -> str:
        return (
            self.database_url or f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'chatsphere.db'}"
        )

    @cached_property
    def resolved_broker_url(self) -> str:
        if self.celery_broker_url:
            return self.celery_broker_url
        # Kombu's SQLAlchemy transport: no broker server, and queued work survives restarts.
        return f"sqla+sqlite:///{self.data_dir.resolve() / 'celery-broker.sqlite'}"

    @cached_property
    def resolved_secret_key(self) -> str:
        """SECRET_KEY, or one generated once and kept in DATA_DIR."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key)

    @property
    def agent(self) -> AgentSettings:
        return AgentSettings(
            gemini_api_key=self.gemini_api_key,
            gemini_base_url=self.gemini_base_url,
            gemini_chat_model=self.gemini_chat_model,
            gemini_embedding_model=self.gemini_embedding_model,
            embedding_dim=self.embedding_dim,
            llm_timeout_seconds=self.llm_timeout_seconds,
            pinecone_api_key=self.pinecone_api_key,
            pinecone_index_host=self.pinecone_index_host,
            redis_url=self.redis_url,
            max_pdf_pages=self.max_pdf_pages,
        )

    def modes(self) -> dict[str, str]:
        """One line per part saying which mode it runs in (logged at start-up)."""
        db = "postgresql" if self.resolved_database_url.startswith("postgresql") else "sqlite"
        return {
            "database": f"{db} ({_redact(self.resolved_database_url)})",
            "queue": "celery on redis"
            if self.celery_broker_url
            else "celery on embedded sqlite broker",
            "cache": "redis" if self.redis_url else "in-process",
            "embeddings": f"gemini {self.gemini_embedding_model}@{self.embedding_dim}"
            if self.gemini_api_key
            else "local hashing embedder",
            "vector_store": "pinecone" if self.agent.uses_pinecone else "local (app database)",
            "llm": f"gemini {self.gemini_chat_model}"
            if self.gemini_api_key
            else "local extractive answerer",
            "billing": "stripe"
            if self.stripe_enabled
            else f"not configured (plan {self.default_plan})",
        }


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def get_settings() -> Settings:
    """The settings from the environment; invalid ones stop start-up with a readable message."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise SystemExit(
            f"ChatSphere cannot start, the settings are invalid:\n{problems}"
        ) from None
