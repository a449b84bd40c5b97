"""Word-level decoders: ROT13, reversed text and leetspeak, each kept only when it reads more like English."""

from __future__ import annotations

import re

from stormwatch.detectors.decoders._common import LEET_SHAPE, Budget, Found
from stormwatch.detectors.decoders._words import (
    REVERSED_HITS_BYTES,
    ROT13_HITS_BYTES,
    WORDS,
    WORDS_BYTES,
    ascii_letter_runs,
)

_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_LETTERS = re.compile(r"[A-Za-z]+")
_MIN_HITS = 2


def wordplay(text: str, shadow: bytes, budget: Budget) -> list[Found]:
    """ROT13 and reversed views of the stretch of `text` whose words decode to common English words."""
    runs = ascii_letter_runs(shadow)
    rot = len(ROT13_HITS_BYTES.intersection(runs)) >= _MIN_HITS
    rev = len(REVERSED_HITS_BYTES.intersection(runs)) >= _MIN_HITS
    if not (rot or rev):
        return []
    out: list[Found] = []
    if rot:
        span = _encoded_stretch(text, runs, ROT13_HITS_BYTES)
        if span is not None:
            s, e = span
            out.append((text[s:e].translate(_ROT13), "rot13", s, e))
    if rev:
        span = _encoded_stretch(text, runs, REVERSED_HITS_BYTES)
        if span is not None:
            s, e = span
            chunk = text[s:e]
            out.append((chunk[::-1], "reversed", s, e))
            words_reversed = _LETTERS.sub(lambda m: m.group()[::-1], chunk)
            out.append((words_reversed, "reversed-words", s, e))
    return out


def _encoded_stretch(text: str, runs: list[bytes], hits: frozenset[bytes]) -> tuple[int, int] | None:
    """From the first to the last encoded-looking word, if encoded words outnumber plain common words there.

    `runs` are the lower-cased ASCII letter runs of `text`, in order (`ascii_letter_runs`).
    """
    marks = [1 if w in hits else (-1 if len(w) >= 3 and w in WORDS_BYTES else 0) for w in runs]
    first = marks.index(1)
    last = len(marks) - 1 - marks[::-1].index(1)
    inside = marks[first : last + 1]
    n_hits = inside.count(1)
    if n_hits < _MIN_HITS or n_hits <= inside.count(-1):
        return None
    spans = _LETTERS.finditer(text)
    start = end = 0
    for i, m in enumerate(spans):
        if i == first:
            start = m.start()
        if i == last:
            end = m.end()
            break
    return start, end


# -- leetspeak ------------------------------------------------------------------------------------------------
# Tokens that mix letters with digits, "@" or "$"; anchored at token starts so a long token is not rescanned
# from every position.
_LEET_TOKEN = re.compile(
    r"(?<![A-Za-z0-9@$])(?=[A-Za-z0-9@$]*?(?:[A-Za-z][0-9@$]|[0-9@$][A-Za-z]))[A-Za-z0-9@$]+"
)
_LEET_MAP = str.maketrans(
    {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s"}
)
_INTERLEAVED = re.compile(r"[A-Za-z][0-9@$]+[A-Za-z]")
_NOT_LEET_DIGITS = re.compile(r"[26]")
_NUMBER_WITH_UNIT = re.compile(r"[0-9]{2,}[A-Za-z]+")
_MAX_LEET_TOKEN = 32


def leetspeak(text: str, shadow: bytes, budget: Budget) -> list[Found]:
    """Text with leetspeak words spelt out ("1gn0r3" → "ignore"); numbers and ids like "10x", "sha256" stay."""
    shape = shadow.translate(LEET_SHAPE)
    if b"a1" not in shape and b"1a" not in shape:
        return []
    if not _spells_new_words(shadow):
        return []
    known = 0
    pieces: list[str] = []
    pos = 0
    for i, m in enumerate(_LEET_TOKEN.finditer(text)):
        if i % 256 == 255 and budget.expired():
            break
        decoded = _deleet(m.group())
        if decoded is None:
            continue
        known += decoded.lower() in WORDS
        pieces += (text[pos : m.start()], decoded)
        pos = m.end()
    # Only a view when at least one spelt-out word is a common word: ids and hashes alone are not leetspeak.
    if known == 0:
        return []
    pieces.append(text[pos:])
    return [("".join(pieces), "leetspeak", 0, len(text))]


_LEET_I = bytes.maketrans(b"013457@$89", b"oieastasbg")
_LEET_L = bytes.maketrans(b"013457@$89", b"oleastasbg")


def _spells_new_words(shadow: bytes) -> bool:
    """Cheap look: does reading digits as letters spell a common word (3+ letters) the text lacks?"""
    before = set(ascii_letter_runs(shadow))
    for table in (_LEET_I, _LEET_L):
        runs = ascii_letter_runs(shadow.translate(table))
        if any(len(w) >= 3 and w not in before for w in WORDS_BYTES.intersection(runs)):
            return True
    return False


def _deleet(token: str) -> str | None:
    if (
        len(token) > _MAX_LEET_TOKEN
        or token[0] in "$@"  # a variable or a handle: "$end", "@home", "user$"
        or token[-1] in "$@"
        or _NOT_LEET_DIGITS.search(token) is not None
        or _NUMBER_WITH_UNIT.fullmatch(token) is not None  # "100K", "64kb"
    ):
        return None
    letters = sum(1 for c in token if c.isalpha())
    leet = len(token) - letters
    if letters == 0 or leet == 0:
        return None
    base = token.translate(_LEET_MAP)
    variants = (base.replace("1", "i"), base.replace("1", "l")) if "1" in base else (base,)
    for v in variants:
        if len(v) >= 3 and v.lower() in WORDS:
            return v
    # Unknown words only when digits sit between letters, and there are enough of both ("pr3v10u5").
    if letters >= 3 and leet >= 2 and _INTERLEAVED.search(token) is not None:
        return variants[0]
    return None
