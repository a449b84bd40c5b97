"""Size limits that keep ingest bounded in memory and time, with safe defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Bounds on one input record; a record over any of them is reported as bad and skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_record_bytes: int = Field(default=1 << 20, ge=64, description="Bytes in one JSONL/CSV record.")
    max_field_chars: int = Field(
        default=200_000, ge=1, description="Characters in one message content or the response."
    )
    max_messages: int = Field(default=256, ge=1, description="Messages in one event.")
    max_metadata_keys: int = Field(
        default=128, ge=0, description="Top-level metadata keys (extra input fields land there too)."
    )
    max_metadata_depth: int = Field(
        default=32, ge=1, description="Nested objects and arrays in metadata, the metadata object included."
    )
    max_metadata_nodes: int = Field(
        default=20_000, ge=1, description="Values in the metadata tree (objects, arrays and scalars)."
    )
    max_attr_chars: int = Field(
        default=4096, ge=1, description="Characters in an id, IP, user agent, model or other short field."
    )
