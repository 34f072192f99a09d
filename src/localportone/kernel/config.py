"""Settings from command-line flags and ``LOCALPORTONE_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///localportone.db"


def _env(name: str) -> str | None:
    value = os.environ.get(f"LOCALPORTONE_{name}")
    return value if value not in (None, "") else None


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:  # a misconfiguration must stop the start-up, loudly
        raise SystemExit(f"LOCALPORTONE_{name} must be an integer, got {value!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from outside; passed explicitly, never read from globals."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Fixed values for scripts and CI: created or updated at start when given.
    api_secret: str | None = None
    store_id: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Background jobs (webhook delivery, schedules) inside the API process.
    run_jobs: bool = True
    job_poll_seconds: float = 1.0
    # Business limits whose real values PortOne does not publish.
    max_transaction_count: int = 10
    max_webhook_resend_count: int = 5
    access_token_seconds: int = 30 * 60
    refresh_token_seconds: int = 24 * 60 * 60
    # How long a process may serve a cached sandbox clock offset written by another process.
    clock_cache_seconds: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        settings = cls(
            database_url=_env("DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=_env("HOST") or "127.0.0.1",
            port=_env_int("PORT", 8000),
            api_secret=_env("API_SECRET"),
            store_id=_env("STORE_ID"),
            webhook_url=_env("WEBHOOK_URL"),
            webhook_secret=_env("WEBHOOK_SECRET"),
            run_jobs=_env_bool("RUN_JOBS", True),
            max_transaction_count=_env_int("MAX_TRANSACTION_COUNT", 10),
            max_webhook_resend_count=_env_int("MAX_WEBHOOK_RESEND_COUNT", 5),
        )
        return settings.with_overrides(**overrides)

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})
