"""Prompt indicators: shareable fingerprints of malicious prompts that reveal no user text.

An indicator is the SHA-256 of the prompt after normalization v1 (exact match) plus a MinHash signature
over character 4-grams of its content words (paraphrase match). Both are one-way; a partner matches them
with `stormwatch scan --indicators FILE` (see `stormwatch.detectors.indicators`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stormwatch.export._common import ExportError, ExportOptions, det_uuid, iso

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from stormwatch.export._data import ExportData

__all__ = [
    "DEFAULT_THRESHOLD",
    "FORMAT",
    "MAX_PROMPT_CHARS",
    "MIN_TOKENS",
    "NORMALIZATION",
    "Fingerprint",
    "IndicatorFile",
    "PromptIndicator",
    "build_indicator_file",
    "content_words",
    "export_indicators",
    "fingerprint",
    "normalize",
    "prompt_sha256",
    "similarity",
]

FORMAT: Final = "stormwatch-prompt-indicators/1"
NORMALIZATION: Final = "v1"
SCHEME: Final = "minhash-c4-affine32"
NUM_PERM: Final = 256
SEED: Final = 1
SHINGLE = 4
MIN_TOKENS = 5  # prompts shorter than this (after normalization) are too generic to share or match
MAX_PROMPT_CHARS = 20_000  # bounded input: longer prompts are fingerprinted on their first 20,000 chars
DEFAULT_THRESHOLD = 0.6  # estimated Jaccard at or above which a prompt matches (measured: docs/exports.md)
MAX_PER_CLUSTER = 500

# English function words dropped before shingling so that rewording around the same content still
# matches; a fixed list, part of fingerprint scheme v1 (changing it is a new scheme).
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "into",
        "onto",
        "via",
        "as",
        "so",
        "than",
        "then",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "me",
        "my",
        "we",
        "us",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "their",
        "his",
        "her",
        "please",
        "kindly",
        "just",
        "also",
        "some",
        "any",
        "all",
        "how",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "there",
        "here",
        "about",
    ]
)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def normalize(text: str) -> str:
    """Normalization v1: NFKC, casefold, punctuation/symbols/controls → space, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text[:MAX_PROMPT_CHARS]).casefold()
    out = [" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text]
    return " ".join("".join(out).split())


def prompt_sha256(text: str) -> str:
    """Hex SHA-256 of the v1-normalized prompt (UTF-8)."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(normalized: str) -> list[str]:
    """The words a fingerprint is built from: stop words dropped, a crude suffix stem applied."""
    return [_stem(w) for w in normalized.split() if w not in _STOPWORDS]


class _Hasher:
    """One MinHash permutation set, built once per process (the costly part of a MinHash)."""

    _perms: Any = None

    @classmethod
    def signature(cls, shingles: Iterable[bytes]) -> NDArray[np.uint32]:
        from datasketch import MinHash

        if cls._perms is None:
            cls._perms = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations
        mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=cls._perms, scheme="affine32")
        mh.update_batch(list(shingles))
        return np.asarray(mh.hashvalues, dtype=np.uint32)


class Fingerprint(BaseModel):
    """The two one-way fingerprints of a prompt and its token count."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    sha256: str
    tokens: int
    minhash: Any  # NDArray[np.uint32] of NUM_PERM values

    def minhash_b64(self) -> str:
        """The MinHash signature as base64 of little-endian uint32 values."""
        return base64.b64encode(np.asarray(self.minhash, dtype="<u4").tobytes()).decode("ascii")


def fingerprint(text: str) -> Fingerprint:
    """SHA-256 and MinHash fingerprints of one prompt."""
    norm = normalize(text)
    words = content_words(norm)
    joined = f" {' '.join(words)} "
    shingles = {joined[i : i + SHINGLE] for i in range(max(1, len(joined) - SHINGLE + 1))}
    return Fingerprint(
        sha256=hashlib.sha256(norm.encode("utf-8")).hexdigest(),
        tokens=len(norm.split()),
        minhash=_Hasher.signature(s.encode("utf-8") for s in sorted(shingles)),
    )


def decode_minhash(b64: str) -> NDArray[np.uint32]:
    """A MinHash signature back from its base64 form; raises ValueError when the size is wrong."""
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != NUM_PERM * 4:
        raise ValueError(f"minhash must hold {NUM_PERM} uint32 values, got {len(raw)} bytes")
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def similarity(a: NDArray[np.uint32], b: NDArray[np.uint32]) -> float:
    """Estimated Jaccard similarity of two MinHash signatures."""
    return float(np.mean(a == b))


class PromptIndicator(BaseModel):
    """One shareable prompt indicator (no user text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    minhash: str
    tokens: int = Field(ge=0)
    category: str | None = None
    techniques: list[str] = Field(default_factory=list)
    cluster: str | None = None
    count: int = Field(default=1, ge=1)
    first_seen: str | None = None
    last_seen: str | None = None


class IndicatorFile(BaseModel):
    """The JSON document partners exchange: parameters of the scheme and the indicators."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["stormwatch-prompt-indicators/1"] = FORMAT
    normalization: Literal["v1"] = NORMALIZATION
    scheme: Literal["minhash-c4-affine32"] = SCHEME
    num_perm: Literal[256] = NUM_PERM
    seed: Literal[1] = SEED
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    producer: str = "Stormwatch"
    tlp: str = "amber"
    created: str | None = None
    indicators: list[PromptIndicator] = Field(default_factory=list)

    def dumps(self) -> str:
        """Canonical JSON text (sorted keys, two-space indent, trailing newline)."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, path: Path, *, max_bytes: int = 64 * 1024 * 1024) -> IndicatorFile:
        """Read and validate an indicator file; raises ExportError naming the file."""
        try:
            if path.stat().st_size > max_bytes:
                raise ExportError(f"{path}: indicator file larger than {max_bytes} bytes")
            doc = json.loads(path.read_text("utf-8"))
            out = cls.model_validate(doc)
            for ind in out.indicators:
                decode_minhash(ind.minhash)
        except (OSError, json.JSONDecodeError, ValidationError, ValueError) as exc:
            raise ExportError(f"{path}: not a valid prompt-indicator file: {exc}") from exc
        return out


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
