"""Settings of the guard service: every knob `stormwatch serve` exposes, validated once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from stormwatch.api._logging import redact
from stormwatch.detectors.judge import JudgeConfig

UPSTREAM_KEY_ENV = "STORMWATCH_UPSTREAM_API_KEY"


class Settings(BaseModel):
    """Guard-service configuration (keyword-only, immutable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upstream_url: str | None = Field(default=None, description="Base URL of the OpenAI-compatible upstream.")
    upstream_api_key: SecretStr | None = Field(
        default=None, description=f"Only ever read from ${UPSTREAM_KEY_ENV}."
    )
    keys_file: Path | None = Field(
        default=None, description="Hashed API keys; no file means every call is 401."
    )
    policy: Path | None = None
    store: str | None = Field(default=None, description="Store path (DuckDB file); None records nothing.")
    full: bool = Field(default=False, description="Run learned stages too (default: fast path only).")
    upstream_connect_timeout: float = Field(default=3.0, gt=0)
    upstream_timeout: float = Field(default=60.0, gt=0, description="Whole-call deadline (non-streaming).")
    stream_idle_timeout: float = Field(
        default=60.0, gt=0, description="Longest wait for the next stream chunk."
    )
    max_upstream_bytes: int = Field(default=16 << 20, ge=1024)
    max_body_bytes: int = Field(default=1 << 20, ge=256)
    max_message_chars: int = Field(default=200_000, ge=1)
    max_messages: int = Field(default=256, ge=1)
    max_batch: int = Field(default=256, ge=1)
    rate_per_s: float = Field(default=20.0, gt=0, description="Default per-key sustained request rate.")
    burst: int = Field(default=40, ge=1, description="Default per-key bucket size.")
    stream_scan_chars: int = Field(default=200, ge=16, description="Re-scan a stream's output every N chars.")
    stream_holdback: bool = Field(default=False, description="Release stream chunks only once scanned.")
    inline_scan_chars: int | None = Field(
        default=None,
        ge=0,
        description="Scan texts up to N chars on the event loop (default 2000 fast, 0 full).",
    )
    log_prompts: bool = Field(default=False, description="Put prompt text into request logs.")
    writer_queue: int = Field(default=10_000, ge=1)
    writer_batch: int = Field(default=256, ge=1)
    writer_flush_s: float = Field(default=0.2, gt=0)
    judge: JudgeConfig | None = Field(
        default=None, description="Optional judge for requests in the uncertain band (off by default)."
    )
    max_in_flight: int = Field(
        default=512, ge=1, description="Requests served at once; more are refused 503 with Retry-After."
    )
    scan_threads: int = Field(default=8, ge=1, description="Worker threads that run detection.")
    auth_failure_burst: int = Field(
        default=10, ge=1, description="Failed authentications an address may make before it is throttled."
    )
    auth_failures_per_minute: float = Field(
        default=10.0, gt=0, description="Failed authentications per minute an address regains."
    )
    docs: bool = Field(
        default=False, description="Serve /docs, /redoc and /openapi.json (behind the key like every route)."
    )

    @field_validator("upstream_url")
    @classmethod
    def _check_upstream(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = httpx.URL(value)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ValueError(f"not a valid URL: {redact(value)}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"expected an http(s) URL with a host, got {redact(value)}")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **values: Any) -> Settings:
        """Settings from keyword values plus the upstream key from `environ` (the caller's environment,
        never a flag, so the key stays out of shell history and process listings)."""
        key = environ.get(UPSTREAM_KEY_ENV)
        return cls(**values, upstream_api_key=SecretStr(key) if key else None)

    def inline_chars(self) -> int:
        """Texts up to this size are scanned inline; larger ones (and learned stages) in worker threads."""
        if self.judge is not None:  # a judge call blocks on the network: never on the event loop
            return 0
        if self.inline_scan_chars is not None:
            return self.inline_scan_chars
        return 0 if self.full else 2000

    def chat_url(self) -> str | None:
        """The upstream chat-completions URL (query kept, credentials taken out), or None when none is set.

        `/chat/completions` is appended to the path, not to the whole text, so a query string survives.
        """
        if not self.upstream_url:
            return None
        url = httpx.URL(self.upstream_url)
        path = url.path.rstrip("/") + "/chat/completions"
        return str(url.copy_with(path=path, username=None, password=None))

    def upstream_basic_auth(self) -> tuple[str, str] | None:
        """`user:password@` of the upstream URL, sent as a Basic authorization header instead of in the URL."""
        if not self.upstream_url:
            return None
        url = httpx.URL(self.upstream_url)
        if not url.username and not url.password:
            return None
        return url.username, url.password
