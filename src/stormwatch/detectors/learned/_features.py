"""Hashed character n-gram features in pure numpy (deterministic across processes, no vocabulary file)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

N_FEATURES = 1 << 17
NGRAMS = (1, 2, 3, 4, 5)
_PRIMES = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1], dtype=np.uint64)
_MASK32 = np.uint64(0xFFFFFFFF)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def normalize(text: str) -> str:
    """Lower-case and collapse whitespace (the same transform at training and scoring time)."""
    return " ".join(text.lower().split())


def hashed_ngrams(text: str) -> tuple[IntArray, FloatArray]:
    """Sorted unique feature indices and L2-normalised log-count values for one text."""
    t = " " + normalize(text) + " "
    cps = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts: list[npt.NDArray[np.uint64]] = []
    for k, n in enumerate(NGRAMS):
        if cps.size < n:
            break
        h = np.full(cps.size - n + 1, np.uint64(n * 0x51ED27), dtype=np.uint64)
        for j in range(n):
            h = ((h ^ cps[j : cps.size - n + 1 + j]) * _PRIMES[(j + k) % len(_PRIMES)]) & _MASK32
        parts.append(h)
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    allh = (np.concatenate(parts) % np.uint64(N_FEATURES)).astype(np.int64)
    idx, counts = np.unique(allh, return_counts=True)
    vals = np.log1p(counts.astype(np.float32))
    vals /= np.float32(np.linalg.norm(vals) or 1.0)
    return idx, vals


def chunks(text: str, size: int = 800, overlap: int = 100, limit: int = 32) -> list[tuple[int, str]]:
    """Split long text into at most `limit` overlapping windows, as (start offset, window text)."""
    if len(text) <= size:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    step = size - overlap
    for start in range(0, len(text), step):
        out.append((start, text[start : start + size]))
        if len(out) >= limit or start + size >= len(text):
            break
    return out
