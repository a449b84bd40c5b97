"""Configuration of the judge stage: one frozen pydantic model the caller builds and passes in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

PromptStyle = Literal["policy", "conversation"]
ResponseFormat = Literal["json_schema", "json_object", "none"]


class JudgeConfig(BaseModel):
    """Where the judge model runs, what it costs at most and which events it is consulted on.

    The library never reads the environment: the caller (a CLI, the guard's settings) passes the key in.
    `api_key` is a `SecretStr`, so it shows as `**********` in reprs, dumps and logs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1.")
    model: str = Field(min_length=1, max_length=200, description="Model name the endpoint serves.")
    api_key: SecretStr | None = Field(default=None, description="Sent as a bearer token; never logged.")
    timeout_s: float = Field(default=20.0, gt=0, le=600, description="Deadline of one HTTP call.")
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    max_retries: int = Field(default=1, ge=0, le=3, description="Extra attempts after a timeout or 5xx/429.")
    retry_backoff_s: float = Field(default=0.5, ge=0, le=10, description="Wait before retry n: n × this.")
    max_calls_per_minute: int = Field(
        default=60, ge=1, le=100_000, description="HTTP calls (retries included) per sliding minute."
    )
    max_concurrency: int = Field(default=4, ge=1, le=64, description="Calls in flight at once per batch.")
    cache_size: int = Field(default=4096, ge=0, le=1_000_000, description="LRU answers kept; 0 disables.")
    band_low: float = Field(
        default=0.2, gt=0.0, lt=1.0, description="Consulted when band_low <= risk < band_high (risk 0 never)."
    )
    band_high: float = Field(default=0.8, gt=0.0, le=1.0)
    may_raise: bool = Field(default=True, description="A violation answer adds a finding (risk goes up).")
    may_lower: bool = Field(
        default=True, description="A no-violation answer damps the other findings, never below band_low."
    )
    policy_path: Path | None = Field(default=None, description="Markdown policy (default: the packaged one).")
    max_prompt_chars: int = Field(default=8000, ge=200, le=500_000, description="Conversation text sent.")
    max_answer_tokens: int = Field(
        default=1024, ge=16, le=32_768, description="Room for the answer (and a reasoning model's reasoning)."
    )
    max_answer_bytes: int = Field(default=65_536, ge=1024, le=8 << 20, description="Larger bodies: an error.")
    max_rationale_chars: int = Field(default=300, ge=0, le=4000)
    plain_confidence: float = Field(
        default=0.8, gt=0.0, le=1.0, description="Confidence given to plain 'safe'/'unsafe' answers."
    )
    prompt_style: PromptStyle = Field(
        default="policy",
        description="policy: our policy as the system message (gpt-oss-safeguard and general models); "
        "conversation: the turns as they are (Llama Guard, Qwen3Guard carry their own policy).",
    )
    response_format: ResponseFormat = Field(
        default="json_schema",
        description="Ask the server to enforce the answer schema (vLLM, Ollama); ignored in conversation style.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        url = v.strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise ValueError("base_url must be an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _band_order(self) -> JudgeConfig:
        if self.band_low >= self.band_high:
            raise ValueError(f"band_low ({self.band_low}) must be below band_high ({self.band_high})")
        return self

    def chat_url(self) -> str:
        """The chat-completions endpoint under `base_url`."""
        return self.base_url + "/chat/completions"

    def in_band(self, risk: float) -> bool:
        """True when an event's risk is in the uncertain band the judge is consulted in."""
        return self.band_low <= risk < self.band_high
