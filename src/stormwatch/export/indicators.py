"""Prompt indicators: shareable fingerprints of malicious prompts that reveal no user text.

The fingerprint scheme and the file format live in `stormwatch.detectors.fingerprint` (the matcher reads
them too); this module builds indicator files from a hunt's clusters and writes them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from stormwatch.export._common import ExportOptions, det_uuid, iso

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

MAX_PER_CLUSTER = 500


def indicator_id(producer: str, sha256: str) -> str:
    """Deterministic indicator id from the producer and the prompt hash."""
    return f"prompt-indicator--{det_uuid('prompt-indicator', producer, sha256)}"


def indicators_from_events(
    rows: Sequence[dict[str, Any]], *, producer: str, cluster: str | None, limit: int = MAX_PER_CLUSTER
) -> list[PromptIndicator]:
    """Prompt indicators from store event rows (`prompt`, `ts`, `categories`, `techniques`), one per hash."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        prompt = row.get("prompt") or ""
        if not prompt:
            continue
        fp = fingerprint(str(prompt))
        if fp.tokens < MIN_TOKENS:
            continue
        g = groups.setdefault(fp.sha256, {"fp": fp, "n": 0, "cats": Counter(), "techs": Counter(), "ts": []})
        g["n"] += 1
        g["cats"].update(str(c) for c in row.get("categories") or [])
        g["techs"].update(str(t) for t in row.get("techniques") or [])
        if isinstance(row.get("ts"), datetime):
            g["ts"].append(row["ts"])
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1]["n"], kv[0]))[:limit]
    out = []
    for sha, g in sorted(ranked, key=lambda kv: kv[0]):
        cats: Counter[str] = g["cats"]
        category = sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if cats else None
        out.append(
            PromptIndicator(
                id=indicator_id(producer, sha),
                sha256=sha,
                minhash=g["fp"].minhash_b64(),
                tokens=g["fp"].tokens,
                category=category,
                techniques=sorted(g["techs"]),
                cluster=cluster,
                count=g["n"],
                first_seen=iso(min(g["ts"])) if g["ts"] else None,
                last_seen=iso(max(g["ts"])) if g["ts"] else None,
            )
        )
    return out


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
