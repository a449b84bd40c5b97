"""Window scoring: how much a run of whitespace tokens reads like an optimised token soup."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from stormwatch.detectors.adversarial_suffix._lm import NEWLINE, CharLM, char_ids

MAX_SEGMENT = 16_384  # characters scored from the head and from the tail of a long turn
_TOKEN = re.compile(r"\S+")
_BLOB = re.compile(r"[A-Za-z0-9+/=_\-]{24,}|(?:0x)?[0-9a-fA-F]{12,}|[a-z][a-z0-9+.\-]*://\S*|www\.\S+")
_CASE_FLIP = re.compile(r"[a-z][A-Z]")
_PUNCT_IN = re.compile(r"[A-Za-z][^\w\s'’\-]+[A-Za-z]|[^\w\s]{2,}[A-Za-z]|[A-Za-z][^\w\s.,;:!?'\")\]]{2,}")


@dataclass(frozen=True)
class Params:
    """Scoring parameters written beside the model by the training script."""

    window: int = 8
    min_chars: int = 24
    shape_weight: float = 1.5
    threshold: float = 6.0
    high: float = 7.5
    min_soupy: int = 2
    max_newlines: int = 1
    code_margin: float = 2.0


@dataclass(frozen=True)
class Span:
    """A scored run of tokens: character offsets into the turn and the raw soup score."""

    start: int
    end: int
    raw: float
    tokens: int


def _segments(text: str) -> list[tuple[int, str]]:
    if len(text) <= 2 * MAX_SEGMENT:
        return [(0, text)]
    return [(0, text[:MAX_SEGMENT]), (len(text) - MAX_SEGMENT, text[-MAX_SEGMENT:])]


_OPERATORS = frozenset(
    [
        "==",
        "!=",
        "<=",
        ">=",
        "+=",
        "-=",
        "*=",
        "/=",
        "->",
        "=>",
        "::",
        "//",
        "**",
        "&&",
        "||",
        "...",
        "---",
        "###",
        "##",
        "```",
        ">>",
        "<<",
        ":)",
        ":(",
        "?!",
        "!!",
        "??",
        "..",
        "--",
        "|",
    ]
)
_PUNCT_ONLY = re.compile(r"[^\w\s]{2,6}")


_CODE_LINE = re.compile(
    r"^[ \t]{2,}\S|[;{}:,(\[]\s*$|^\s*(?:def|class|return|import|from|if|for|while|function|var|let|const|"
    r"public|private|int|SELECT|#include)\b|^\s*```",
    re.MULTILINE,
)


def looks_like_code(text: str) -> bool:
    """Three lines that read as code (indentation, a line-ending bracket or keyword, a fence), or JSON."""
    if text.count('":') >= 3 or text.count("\\u") >= 3:
        return True
    return any(n >= 2 for n, _ in enumerate(_CODE_LINE.finditer(text)))


def _soupy(tok: str) -> bool:
    if _CASE_FLIP.search(tok) is not None or _PUNCT_IN.search(tok) is not None:
        return True
    # Markup debris such as `](`, `"\!--` or `'),` standing alone (not a common operator or emphasis).
    return _PUNCT_ONLY.fullmatch(tok) is not None and tok not in _OPERATORS


def score_text(text: str, lms: tuple[CharLM, ...], params: Params) -> tuple[float, list[Span]]:
    """The turn's highest window score and the merged spans whose windows reach the threshold.

    With several models (prose, code) a window scores under the one that predicts it best.
    """
    lm = lms[0]
    best = float("-inf")
    spans: list[Span] = []
    # Code reads as soup to a character model far more often than prose; such turns need a wider margin.
    threshold = params.threshold + (params.code_margin if looks_like_code(text[: 2 * MAX_SEGMENT]) else 0.0)
    for offset, seg in _segments(text):
        starts: list[int] = []
        ends: list[int] = []
        shape: list[float] = []
        for m in _TOKEN.finditer(seg):
            tok = m.group()
            if len(tok) > 40 or _BLOB.fullmatch(tok) is not None:
                continue
            starts.append(m.start())
            ends.append(m.end())
            shape.append(1.0 if _soupy(tok) else 0.0)
        w = params.window
        if len(starts) < w:
            if not starts:
                continue
            w = len(starts)
        c_shape = np.concatenate([[0.0], np.cumsum(shape)])
        if float((c_shape[w:] - c_shape[:-w]).max()) < min(params.min_soupy, w):
            # No window holds enough soup-shaped tokens: every window scores 0, so skip the model.
            best = max(best, 0.0)
            continue
        ids = char_ids(seg, lm.alphabet)
        if ids.shape[0] == 0:
            continue
        # The code-point array and Python string offsets agree (one id per code point).
        cums = [np.concatenate([[0.0], np.cumsum(m.nll(ids))]) for m in lms]
        s = np.asarray(starts)
        e = np.asarray(ends)
        tok_len = (e - s).astype(np.float64)
        c_len = np.concatenate([[0.0], np.cumsum(tok_len)])
        tok_nlls = [cum[e] - cum[s] for cum in cums]
        c_nlls = [np.concatenate([[0.0], np.cumsum(t)]) for t in tok_nlls]
        win_nll = np.min([c[w:] - c[:-w] for c in c_nlls], axis=0)
        tok_nll = np.min(tok_nlls, axis=0)
        win_len = c_len[w:] - c_len[:-w]
        win_shape = (c_shape[w:] - c_shape[:-w]) / w
        raw = win_nll / np.maximum(win_len, 1.0) + params.shape_weight * win_shape
        # A window needs some soup-shaped tokens: plain text in a language the model never saw is
        # unpredictable too, but it has no case flips or punctuation wedged between letters.
        soupy_ok = (c_shape[w:] - c_shape[:-w]) >= min(params.min_soupy, w)
        # Optimised suffixes are one line; code and tables that score high span several lines.
        nl_cum = np.concatenate([[0], np.cumsum(ids == NEWLINE)])
        soupy_ok &= (nl_cum[e[w - 1 :]] - nl_cum[s[: len(s) - w + 1]]) <= params.max_newlines
        raw = np.where((win_len >= params.min_chars) & soupy_ok, raw, 0.0)
        if raw.shape[0] == 0:
            continue
        best = max(best, float(raw.max()))
        hot = np.flatnonzero(raw >= threshold)
        if hot.shape[0] == 0:
            continue
        tok_score = tok_nll / np.maximum(tok_len, 1.0) + params.shape_weight * np.asarray(shape)
        # Hot windows closer than one window apart form one run of tokens.
        breaks = np.flatnonzero(np.diff(hot) > w) + 1
        for group in np.split(hot, breaks):
            first, last = int(group[0]), int(group[-1]) + w - 1
            # Trim ordinary words that only rode along at the run's edges.
            while first < last and tok_score[first] < threshold:
                first += 1
            while last > first and tok_score[last] < threshold:
                last -= 1
            spans.append(
                Span(
                    start=offset + int(s[first]),
                    end=offset + int(e[last]),
                    raw=float(raw[group].max()),
                    tokens=last - first + 1,
                )
            )
    return (best if best != float("-inf") else 0.0), spans
