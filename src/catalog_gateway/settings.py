"""Service settings, read from `CATALOG_GATEWAY_*` environment variables (and a `.env` file)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting has a default that works on a fresh machine: SQLite, no external systems."""

    model_config = SettingsConfigDict(
        env_prefix="CATALOG_GATEWAY_", env_file=".env", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///./catalog.db",
        description="SQLAlchemy URL. `postgresql://` URLs use the psycopg 3 driver.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, description="Connections per process (PostgreSQL; SQLite readers)."
    )
    database_echo: bool = Field(default=False, description="Log every SQL statement.")
    sqlite_busy_timeout_ms: int = Field(
        default=5000, ge=0, description="How long a SQLite writer waits for another process's lock."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    workers: int = Field(default=1, ge=1, description="Server processes started by `serve`.")
    reads_require_key: bool = Field(
        default=False,
        description="Require an API key (any source's or an admin's) for catalog reads.",
    )
    page_size_default: int = Field(
        default=50, ge=1, description="Read page size when none is asked."
    )
    page_size_max: int = Field(
        default=500, ge=1, description="Largest read page size a client may ask."
    )
    default_rate: str = Field(
        default="50/second", description="Rate limit given to new sources (`limits` notation)."
    )
    default_burst: int = Field(default=100, ge=1, description="Burst given to new sources.")

    event_lease_seconds: int = Field(
        default=120,
        ge=1,
        description="After this long, an event still `in_progress` (its process died) may be "
        "sent again and resumes.",
    )
    event_retention_days: int = Field(
        default=30, ge=1, description="`events purge` deletes records older than this by default."
    )
    batch_max_events: int = Field(
        default=500, ge=1, description="Most events one `POST /api/v1/events/batch` may carry."
    )

    ecommerce_url: str | None = Field(
        default=None,
        description="Base URL of the ecommerce publication API; unset = no ecommerce (the "
        "ecommerce steps report `skipped`).",
    )
    ecommerce_token: SecretStr | None = Field(
        default=None, description="Bearer token for the ecommerce API."
    )
    ecommerce_connect_timeout: float = Field(
        default=2.0, gt=0, description="Seconds to connect to ecommerce."
    )
    ecommerce_read_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for one ecommerce answer."
    )
    ecommerce_budget_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time one event may spend on ecommerce calls, retries and waits included.",
    )
    ecommerce_breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failed calls that open the ecommerce breaker."
    )
    ecommerce_breaker_reset_seconds: float = Field(
        default=30.0, gt=0, description="How long the open breaker fails fast before a probe."
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis shared by every server process: rate-limit counters, the ecommerce "
        "breaker's state and revoked-key announcements; unset = each process keeps its own.",
    )
    read_rate: str = Field(
        default="200/second", description="Rate limit of catalog and event-log reads per client."
    )
    read_burst: int = Field(default=400, ge=1, description="Burst of reads per client.")
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a process remembers who a key stands for, a source's profile, "
        "its organization codes and value aliases, and the subjects (0 = ask the database on "
        "every request). A changed rate limit, `sources map-org`, `sources map-value` or "
        "`subjects create` takes effect within this time; a revoked key too, or at once on "
        "every process when it is announced through Redis (`redis_url`).",
    )
    max_in_flight_writes: int = Field(
        default=64,
        ge=1,
        description="Event requests one process holds at once (being prepared, queued for the "
        "writer lane, or being written); more wait `overload_wait_seconds`, then 503.",
    )
    cpu_workers: int | None = Field(
        default=None,
        ge=1,
        description="Threads that transform and prepare events, per process (default: the "
        "cores divided by `workers`, at least 1); more than that starves the event loop.",
    )
    writers: int | None = Field(
        default=None,
        ge=1,
        description="Writer threads of the writer lane, per process (default: 1 on SQLite, "
        "which writes through one connection; 2 on PostgreSQL).",
    )
    switch_interval_ms: float = Field(
        default=5.0,
        gt=0,
        le=100,
        description="How long a thread may hold Python's GIL while another waits for it "
        "(`sys.setswitchinterval`). The event loop waits up to this long whenever a writer or "
        "prepare thread runs, so a smaller value keeps reads and 429s fast under load.",
    )
    freeze_heap: bool = Field(
        default=True,
        description="Once the app has started, exempt the objects it built from Python's "
        "garbage collector (`gc.freeze`), whose collections of the whole heap otherwise stop "
        "the process for 100 ms and more; the tests turn it off, since they start many apps "
        "in one process.",
    )
    group_commit_max_events: int = Field(
        default=200,
        ge=1,
        description="The most events the writer lane commits in one transaction (a batch "
        "larger than that is committed alone).",
    )
    overload_wait_seconds: float = Field(
        default=0.5,
        ge=0,
        description="How long an event request waits for a free slot before `503 overloaded`.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest body of `POST /api/v1/events`."
    )
    max_batch_body_bytes: int = Field(
        default=16_777_216, ge=1024, description="Largest body of `POST /api/v1/events/batch`."
    )
    max_json_depth: int = Field(default=32, ge=4, description="Deepest JSON nesting accepted.")
    max_clock_skew_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How far an event's `occurred_at` may be ahead of the server's clock; "
        "later is refused (400 at /occurred_at), so one wrong clock cannot make a product's "
        "every later event stale.",
    )
    max_string_length: int = Field(
        default=200_000, ge=1024, description="Longest JSON string accepted (characters)."
    )

    jwt_secret: SecretStr | None = Field(
        default=None, description="Accept HS256 JWT bearer tokens signed with this secret."
    )
    jwt_public_key: str | None = Field(
        default=None, description="Accept RS256 JWT bearer tokens verified with this PEM key."
    )
    jwt_source_claim: str = Field(
        default="source", description="The JWT claim that names the source (its slug)."
    )
    jwt_audience: str | None = Field(default=None, description="Required JWT `aud`, if set.")
    jwt_issuer: str | None = Field(default=None, description="Required JWT `iss`, if set.")

    mappings_dir: Path | None = Field(
        default=None,
        description="Directory of operators' mapping files: each `*.yaml` in it is a "
        "transformer named by its `name:` (see docs/transformers.md); unset = none.",
    )

    console_session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the web console's session cookies; unset = a random key "
        "per process (sessions end when it stops; set it when running several processes).",
    )
    console_secure_cookies: bool = Field(
        default=False,
        description="Mark the console's session cookie `Secure` (sent over HTTPS only).",
    )

    bench_control: bool = Field(
        default=False, description="Mount the benchmarks' control endpoint `POST /_bench/parse`."
    )

    metrics_require_key: bool = Field(
        default=False,
        description="Require an admin key for `GET /metrics` (open by default: no secrets in it).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log lines written."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="`json`: one JSON object a line; `console`: for people; `auto`: console on a "
        "terminal, JSON otherwise.",
    )

    @field_validator("jwt_secret")
    @classmethod
    def _secret_long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        """HS256 keys shorter than the hash (32 bytes) are guessable (RFC 7518 §3.2)."""
        if secret is not None and len(secret.get_secret_value().encode()) < 32:
            raise ValueError("CATALOG_GATEWAY_JWT_SECRET must be at least 32 bytes")
        return secret

    @field_validator("console_session_secret")
    @classmethod
    def _console_secret_long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        """A signing key shorter than 32 bytes could be guessed, and sessions forged."""
        if secret is not None and len(secret.get_secret_value().encode()) < 32:
            raise ValueError("CATALOG_GATEWAY_CONSOLE_SESSION_SECRET must be at least 32 bytes")
        return secret

    @field_validator("database_url")
    @classmethod
    def _use_psycopg_for_postgresql(cls, url: str) -> str:
        """`postgresql://` and `postgres://` mean the psycopg 3 driver, the one we ship."""
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        return url


def prepare_threads(settings: Settings) -> int:
    """The prepare pool's size: the setting, or this host's cores shared by its processes."""
    return settings.cpu_workers or max(1, (os.cpu_count() or 1) // settings.workers)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
