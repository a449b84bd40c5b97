"""Shared export plumbing: options, the error type, deterministic ids and TLP levels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stormwatch.errors import StormwatchError

# Fixed namespace of every uuid5 id Stormwatch exports; changing it changes every exported id.
STORMWATCH_NS = uuid.UUID("5b0c6c1e-4f3a-5d0e-9a57-7a3e2f6c9d11")

TlpLevel = Literal["clear", "green", "amber", "amber+strict", "red"]
TLP_LEVELS: tuple[str, ...] = ("clear", "green", "amber", "amber+strict", "red")

# Attribution at or above this score is "confident": exported as attributed-to (STIX) or a galaxy tag (MISP).
CONFIDENT_SCORE = 0.5


class ExportError(StormwatchError):
    """An export could not be built or written; names the input or cluster at fault."""


class ExportOptions(BaseModel):
    """What every exporter needs besides the data: producer, marking and the injectable clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    org_name: str = "Stormwatch"
    tlp: TlpLevel = "amber"
    created: datetime | None = Field(default=None, description="Clock of the export; None: latest last_seen.")
    confident_score: float = Field(default=CONFIDENT_SCORE, ge=0.0, le=1.0)

    @field_validator("tlp", mode="before")
    @classmethod
    def _tlp(cls, value: object) -> object:
        if isinstance(value, str):
            v = value.strip().lower().removeprefix("tlp:")
            return "clear" if v == "white" else v
        return value

    @field_validator("created")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return to_utc(value) if value is not None else None


def to_utc(ts: datetime) -> datetime:
    """An aware UTC datetime truncated to milliseconds (STIX timestamps carry milliseconds)."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.replace(microsecond=(ts.microsecond // 1000) * 1000)


def det_uuid(*parts: str) -> uuid.UUID:
    """A deterministic uuid5 from the Stormwatch namespace and the given key parts."""
    return uuid.uuid5(STORMWATCH_NS, "|".join(parts))


def stix_id(stix_type: str, *parts: str) -> str:
    """A deterministic STIX id (`type--uuid5`) for an object keyed by `parts`."""
    return f"{stix_type}--{det_uuid(stix_type, *parts)}"


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 UTC with a `Z` and whole seconds, or None."""
    return to_utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ") if ts is not None else None
