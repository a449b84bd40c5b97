"""Decoded views and the limits that bound decoding."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DecodedView(BaseModel):
    """One decoded reading of a text: what it says, which decoder chain exposed it, where it came from.

    `decoded_by` names the chain: layers are joined by ">" ("base64>rot13"); steps done together in one
    Unicode clean-up layer are joined by "+" ("zero-width+homoglyph"). `depth` counts the ">" layers.
    `source_start`/`source_end` is the narrowest span of the original text known to hold the view's source
    (a base64 blob, a run of tag characters); whole-text decodings span the whole text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    decoded_by: str
    source_start: int | None = None
    source_end: int | None = None
    depth: int = Field(default=1, ge=1)


class DecodeLimits(BaseModel):
    """Bounds on decoding work: nesting depth, number and total size of views, input size and work.

    The views of one call hold at most `output_budget(len(text))` characters together:
    `min(output_factor * len(text) + output_extra_chars, max_output_chars)`.
    Only the first `max_input_chars` characters of a longer text are decoded.
    Work (characters examined, decode steps, characters produced) is capped at `work_budget(len(text))`:
    `min(work_factor * len(text) + work_extra, max_work)`, so the same text gives the same views on any
    machine. `time_budget_s` is a wall-clock limit that only ends a runaway, reported as such.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_depth: int = Field(default=3, ge=1, le=8)
    max_views: int = Field(default=16, ge=0, le=256)
    output_factor: int = Field(default=4, ge=0, le=64)
    output_extra_chars: int = Field(default=65_536, ge=0)
    max_output_chars: int = Field(default=4_194_304, ge=0)
    max_input_chars: int = Field(default=1_048_576, ge=1)
    work_factor: int = Field(default=48, ge=0, le=4096)
    work_extra: int = Field(default=1_048_576, ge=0)
    max_work: int = Field(default=64 * 1_048_576, ge=0)
    time_budget_s: float | None = Field(default=10.0, gt=0)

    def output_budget(self, input_chars: int) -> int:
        """Most characters that all views of an input of this length may hold together."""
        return min(self.output_factor * input_chars + self.output_extra_chars, self.max_output_chars)

    def work_budget(self, input_chars: int) -> int:
        """Most work (characters examined, decode steps, characters produced) for an input of this length."""
        return min(self.work_factor * min(input_chars, self.max_input_chars) + self.work_extra, self.max_work)
