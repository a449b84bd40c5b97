"""A character n-gram language model over script-normalised text, in pure numpy.

Characters are mapped to a small alphabet first: printable ASCII keeps its identity (digits fold to one
symbol), and every letter of another script folds to one symbol per script block, so Thai, Chinese or
Devanagari text reads as runs of "a letter of script X" and never looks rare just because its alphabet is
large. Counts live in dense tables (orders 1-2) and hashed tables (orders 3-4); probabilities use recursive
Dirichlet (additive-prior) smoothing, so an unseen context falls back to the lower order.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

V = 128  # alphabet size
ORDER = 4
HASH_BITS = 20
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)
_SPACE = 0  # id of " "
NEWLINE = 95
_DIGIT = ord("0") - 32
_OTHER = 96  # symbols outside ASCII with no script block of their own
_LATIN_EXT = 97  # accented Latin letters
_CJK = 98
_HANGUL = 99
_KANA = 100
_FULLWIDTH = 101
_SCRIPT_BASE = 102  # 102..127: other script blocks, by 128-code-point block
_N_SCRIPT = V - _SCRIPT_BASE

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def build_alphabet() -> npt.NDArray[np.uint8]:
    """The code point (BMP) -> alphabet id table; code points above the BMP use `char_ids`' rules."""
    table = np.full(0x10000, _OTHER, dtype=np.uint8)
    cps = np.arange(0x10000)
    blocks = cps >> 7
    table[:] = (_SCRIPT_BASE + blocks % _N_SCRIPT).astype(np.uint8)
    table[0x2000:0x2070] = _OTHER  # general punctuation
    table[0x2190:0x2C00] = _OTHER  # arrows, maths, box drawing, symbols
    table[0xE000:0xF900] = _OTHER  # private use
    table[0xFE00:0xFE70] = _OTHER
    table[0x0080:0x00C0] = _OTHER
    table[0x00C0:0x0250] = _LATIN_EXT
    table[0x1E00:0x1F00] = _LATIN_EXT
    # Accented Latin letters read as their base letter (Vietnamese, Czech, Turkish ... stay predictable).
    for cp in (*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)):
        base = unicodedata.normalize("NFD", chr(cp))[0]
        if " " < base < "~" and base.isalpha():
            table[cp] = ord(base) - 32
    table[0x3000:0x3040] = _FULLWIDTH  # CJK punctuation
    table[0xFF00:0xFFF0] = _FULLWIDTH
    table[0x3040:0x3100] = _KANA
    table[0x3400:0xA000] = _CJK
    table[0xF900:0xFB00] = _CJK
    table[0xAC00:0xD7B0] = _HANGUL
    table[0x1100:0x1200] = _HANGUL
    table[0x3130:0x3190] = _HANGUL
    ascii_ids = np.arange(32, 127) - 32
    table[32:127] = ascii_ids.astype(np.uint8)
    table[ord("0") : ord("9") + 1] = _DIGIT
    table[0:32] = _SPACE
    table[ord("\n")] = NEWLINE
    table[127] = _OTHER
    # Unicode spaces read as a space.
    for cp in (0x00A0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, *range(0x2000, 0x200B)):
        table[cp] = _SPACE
    return table


def char_ids(text: str, alphabet: npt.NDArray[np.uint8]) -> IntArray:
    """Alphabet ids of `text`, one per code point (linear time, no Python loop)."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    out = np.empty(cps.shape[0], dtype=np.int64)
    bmp = cps < 0x10000
    out[bmp] = alphabet[cps[bmp]]
    high = ~bmp
    if high.any():
        cjk = (cps >= 0x20000) & (cps < 0x32000)
        out[high] = _OTHER
        out[high & cjk] = _CJK
    return out


def _grams(ids: IntArray, k: int) -> IntArray:
    """The k-gram ending at every position (left-padded with spaces), as one integer base V."""
    padded = np.concatenate([np.full(ORDER, _SPACE, dtype=np.int64), ids])
    n = ids.shape[0]
    g = np.zeros(n, dtype=np.int64)
    for j in range(k):
        g += padded[ORDER - j : ORDER - j + n] * (V**j)
    return g


def _index(g: IntArray, k: int) -> IntArray:
    if k <= 2:
        return g
    h = (g.astype(np.uint64) * _HASH_MUL) >> np.uint64(64 - HASH_BITS)
    return h.astype(np.int64)


def count_tables(id_arrays: list[IntArray]) -> list[npt.NDArray[np.uint32]]:
    """Order-1..4 count tables over many id arrays (joined with space padding, so contexts do not leak)."""
    sizes = [V, V * V, 1 << HASH_BITS, 1 << HASH_BITS]
    pad = np.full(ORDER, _SPACE, dtype=np.int64)
    joined = np.concatenate([x for ids in id_arrays for x in (pad, ids)] or [pad])
    tables = []
    for k in range(1, ORDER + 1):
        t = np.bincount(_index(_grams(joined, k), k), minlength=sizes[k - 1])
        tables.append(np.minimum(t, np.iinfo(np.uint32).max).astype(np.uint32))
    return tables


@dataclass(frozen=True)
class CharLM:
    """Smoothed order-4 character model; `nll` gives bits per character."""

    tables: tuple[npt.NDArray[np.float64], ...]
    alphabet: npt.NDArray[np.uint8]
    prior: float = 4.0

    @classmethod
    def load(cls, path: Path, prefix: str = "c") -> CharLM:
        """Read one model (`prefix` c = prose, k = code and structured text) from the training npz."""
        with np.load(path, allow_pickle=False) as z:
            tables = tuple(z[f"{prefix}{k}"].astype(np.float64) for k in range(1, ORDER + 1))
        return cls(tables=tables, alphabet=build_alphabet())

    def nll(self, ids: IntArray) -> FloatArray:
        """Negative log2-probability of every character given the three before it."""
        n = ids.shape[0]
        if n == 0:
            return np.zeros(0)
        total = float(self.tables[0].sum()) or 1.0
        p = (self.tables[0][ids] + 1.0) / (total + V)
        ctx_counts = None
        for k in range(2, ORDER + 1):
            full = self.tables[k - 1][_index(_grams(ids, k), k)]
            ctx_g = _grams(np.concatenate([[_SPACE], ids[:-1]]), k - 1)
            ctx_counts = self.tables[k - 2][_index(ctx_g, k - 1)]
            full = np.minimum(full, ctx_counts)
            p = (full + self.prior * p) / (ctx_counts + self.prior)
        return np.asarray(-np.log2(np.clip(p, 1e-12, 1.0)), dtype=np.float64)
