"""Prompt indicators: shareable fingerprints of malicious prompts that reveal no user text.

The fingerprint scheme and the file format live in `stormwatch.detectors.fingerprint` (the matcher reads
them too); `stormwatch.export._data` fingerprints each cluster's flagged prompts; this module writes the
indicator file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from stormwatch.detectors.fingerprint import (
    DEFAULT_THRESHOLD,
    FORMAT,
    MAX_PROMPT_CHARS,
    MIN_TOKENS,
    NORMALIZATION,
    NUM_PERM,
    SCHEME,
    SEED,
    Fingerprint,
    IndicatorFile,
    PromptIndicator,
    content_words,
    decode_minhash,
    fingerprint,
    normalize,
    prompt_sha256,
    similarity,
)
from stormwatch.export._common import ExportOptions, iso

if TYPE_CHECKING:
    from stormwatch.export._data import ExportData

__all__ = [
    "DEFAULT_THRESHOLD",
    "FORMAT",
    "MAX_PROMPT_CHARS",
    "MIN_TOKENS",
    "NORMALIZATION",
    "NUM_PERM",
    "SCHEME",
    "SEED",
    "Fingerprint",
    "IndicatorFile",
    "PromptIndicator",
    "build_indicator_file",
    "content_words",
    "decode_minhash",
    "export_indicators",
    "fingerprint",
    "normalize",
    "prompt_sha256",
    "similarity",
]


def build_indicator_file(data: ExportData, options: ExportOptions) -> IndicatorFile:
    """The indicator document for every cluster in `data` (deduplicated by hash, first cluster wins)."""
    seen: dict[str, PromptIndicator] = {}
    for cd in data.clusters:
        for ind in cd.prompts:
            seen.setdefault(ind.sha256, ind)
    return IndicatorFile(
        producer=options.org_name,
        tlp=options.tlp,
        created=iso(data.clock(options)),
        indicators=[seen[k] for k in sorted(seen)],
    )


def export_indicators(data: ExportData, options: ExportOptions, out: Path) -> list[Path]:
    """Write the prompt-indicator JSON document to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_indicator_file(data, options).dumps(), "utf-8")
    return [out]
