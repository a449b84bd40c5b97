"""Prompt fingerprints and the prompt-indicator file format, shared by the matcher and the exporter.

An indicator is the SHA-256 of the prompt after normalization v1 (exact match) plus a MinHash signature
over character 4-grams of its content words (paraphrase match). Both are one-way. The matcher
(`stormwatch.detectors.indicators`) reads indicator files; the exporter (`stormwatch.export.indicators`)
writes them. This module sits below both so that neither imports the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stormwatch.errors import StormwatchError

if TYPE_CHECKING:
    from numpy.typing import NDArray

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
    "IndicatorFileError",
    "PromptIndicator",
    "content_words",
    "decode_minhash",
    "fingerprint",
    "normalize",
    "prompt_sha256",
    "similarity",
]


class IndicatorFileError(StormwatchError):
    """A prompt-indicator file could not be read or is not valid; names the file."""


FORMAT: Final = "stormwatch-prompt-indicators/1"
NORMALIZATION: Final = "v1"
SCHEME: Final = "minhash-c4-affine32"
NUM_PERM: Final = 256
SEED: Final = 1
SHINGLE = 4
MIN_TOKENS = 5  # prompts shorter than this (after normalization) are too generic to share or match
MAX_PROMPT_CHARS = 20_000  # bounded input: longer prompts are fingerprinted on their first 20,000 chars
DEFAULT_THRESHOLD = 0.6  # estimated Jaccard at or above which a prompt matches (measured: docs/exports.md)

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
        """Read and validate an indicator file; raises IndicatorFileError naming the file."""
        try:
            if path.stat().st_size > max_bytes:
                raise IndicatorFileError(f"{path}: indicator file larger than {max_bytes} bytes")
            doc = json.loads(path.read_text("utf-8"))
            out = cls.model_validate(doc)
            for ind in out.indicators:
                decode_minhash(ind.minhash)
        except (OSError, json.JSONDecodeError, ValidationError, ValueError) as exc:
            raise IndicatorFileError(f"{path}: not a valid prompt-indicator file: {exc}") from exc
        return out
