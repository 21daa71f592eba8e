"""The one settings object. Every variable name matches SPEC; `.env` is read too."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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
    host: str = "127.0.0.1"
    port: int = 8000
    # API processes `python -m app.serve` starts (Docker: WEB_CONCURRENCY).
    web_concurrency: int = 1
    # Proxies trusted to set the client address (X-Forwarded-For), comma-separated; "*"
    # trusts anyone, so a client could pick its own address past the rate limits.
    forwarded_allow_ips: str = "127.0.0.1"
    data_dir: Path = Path("./data")
    database_url: str | None = None
    redis_url: str | None = None
    celery_broker_url: str | None = None
    # The queue tasks are sent to and workers consume (instances sharing a broker differ).
    celery_queue: str = "celery"
    secret_key: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    public_base_url: str = "http://localhost:8000"
    log_level: str = "INFO"
    log_json: bool = True
    # One JSON line per request (method, path, status, duration, request id).
    access_log: bool = True

    # How long an API process may reuse what it read about a token's or key's owner. Changes
    # made through this process apply at once; other processes see them within this time.
    auth_cache_seconds: float = 2.0
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # Limits ("N/second|minute|hour|day"); each answers 429 with Retry-After.
    login_rate_limit: str = "10/minute"  # per IP and per email; wrong current passwords too
    register_rate_limit: str = "5/minute"  # per IP
    rate_limit_per_ip: str = "300/minute"  # every /api request, before authentication
    rate_limit_per_principal: str = "600/minute"  # per API key, or per user with a token
    rate_limit_chat: str = "60/minute"  # chat turns and completions, per API key or user

    # The models a bot may name (`model`), comma-separated; GEMINI_CHAT_MODEL always counts.
    # Owners choose among these at the operator's cost, so nothing else is accepted.
    gemini_allowed_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"]
    )
    # Gemini, Pinecone, parsing and chunking: read from GEMINI_API_KEY, EMBEDDING_DIM, ...
    # like every other variable (see _FlatAgentSource); LLM_TIMEOUT_SECONDS is the time one
    # answer may take before it fails as `llm_timeout` (504).
    agent: AgentSettings = Field(default_factory=AgentSettings)
    # Connections each API or worker process keeps to the database (no overflow churn):
    # about the number of requests one process serves at once.
    db_pool_size: int = 20

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
    # Any other request body (JSON, forms, webhooks): refused with 413 past this.
    max_request_kb: int = 1024
    # The widget (visitors): session lifetime, renewal window and limits.
    widget_session_hours: int = 24
    widget_renew_days: int = 7  # an expired session renews within this, keeping the visitor
    widget_visitor_rate_limit: str = "10/minute"  # messages per visitor
    widget_ip_rate_limit: str = "30/minute"  # messages per client address
    widget_session_rate_limit: str = "20/hour"  # new visitors per client address
    widget_bot_daily_limit: int = 1000  # messages a day per bot, unless the bot sets its own

    # Background work. A run holds its document with a lease it renews every third of
    # `ingest_lease_seconds`; the sweep, every `sweep_interval_seconds`, sends again the
    # documents whose lease ran out (a dead worker) and, as a backstop, those queued longer
    # than `stuck_after_seconds` (a lost message).
    task_soft_time_limit: int = 900
    task_visibility_timeout: int = 3600
    ingest_lease_seconds: int = Field(default=30, ge=3)
    sweep_interval_seconds: int = 15
    stuck_after_seconds: int = 1200
    # Provider hiccups (429/5xx/timeouts) retry a document with exponential backoff and jitter.
    ingest_max_retries: int = 6
    ingest_retry_backoff_seconds: int = 10

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        flat = _FlatAgentSource(settings_cls, dotenv_settings, env_settings)
        return init_settings, env_settings, dotenv_settings, flat, file_secret_settings

    @field_validator("cors_origins", "gemini_allowed_models", mode="before")
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
    def _parser_limit_follows_the_upload_limit(self) -> Settings:
        # Otherwise a worker refuses what the API accepted (MAX_UPLOAD_MB above 20).
        self.agent.max_document_bytes = self.max_upload_bytes
        return self

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

    def prepare_data_dir(self) -> None:
        """DATA_DIR and everything this process creates in it are private to the service's
        user: directories 0700, files 0600 (the database, the secret key, uploads)."""
        os.umask(0o077)
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.upload_dir.mkdir(mode=0o700, exist_ok=True)
        for path in (self.data_dir, self.upload_dir, *self.data_dir.glob("*")):
            path.chmod(0o700 if path.is_dir() else 0o600)

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_request_bytes(self) -> int:
        return self.max_request_kb * 1024

    @property
    def allowed_models(self) -> list[str]:
        return sorted({*self.gemini_allowed_models, self.agent.gemini_chat_model})

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key)

    def modes(self) -> dict[str, str]:
        """One line per part saying which mode it runs in (logged at start-up)."""
        db = "postgresql" if self.resolved_database_url.startswith("postgresql") else "sqlite"
        agent = self.agent
        return {
            "database": f"{db} ({_redact(self.resolved_database_url)})",
            "queue": f"celery on {self.celery_broker_url.split(':', 1)[0]}"
            if self.celery_broker_url
            else "celery on embedded sqlite broker",
            "cache": "redis" if self.redis_url else "in-process",
            "embeddings": f"gemini {agent.gemini_embedding_model}@{agent.embedding_dim}"
            if agent.uses_gemini
            else "local hashing embedder",
            "vector_store": "pinecone" if agent.uses_pinecone else "local (app database)",
            "llm": f"gemini {agent.gemini_chat_model}"
            if agent.uses_gemini
            else "local extractive answerer",
            "billing": "stripe"
            if self.stripe_enabled
            else f"not configured (plan {self.default_plan})",
        }


class _FlatAgentSource(PydanticBaseSettingsSource):
    """`agent`'s fields from flat variables (GEMINI_API_KEY, not AGENT__GEMINI_API_KEY).

    The agent library declares its settings once; SPEC names every variable flat.
    """

    def __init__(self, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._sources = [s for s in sources if isinstance(s, EnvSettingsSource)]  # low first

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything happens in __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for source in self._sources:
            for name in AgentSettings.model_fields:
                value = source.env_vars.get(name)
                if value not in (None, ""):
                    values[name] = value
        return {"agent": values} if values else {}


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
