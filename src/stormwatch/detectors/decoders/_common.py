"""Small pieces every decoder shares: the result tuple, the work budget, and the "is this text?" test."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

Found = tuple[str, str, int, int]
"""(view text, decoder name, start, end): the span is into the text that was decoded."""

_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ALNUM = re.compile(r"[^\W_]")
_LETTER_OR_SPACE = re.compile(r"[^\W\d_]|\s")
_SHORT = 64


class Budget:
    """Work one decoding may do, counted in characters examined and decode steps — not seconds.

    Counting work makes the views of a text the same on an idle and on a busy machine. The optional
    wall-clock limit only ends a runaway, and is reported as such (`exhausted == "time"`), never taken
    for a normal result. Decoders call `expired()` in their loops and `charge()` for what they examine.
    """

    __slots__ = ("_at", "_clock", "limit", "tripped", "used")

    def __init__(
        self, work: int | None, seconds: float | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.limit = work
        self.used = 0
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds
        self.tripped: str | None = None

    def charge(self, units: int) -> None:
        """Count `units` of work (characters examined, or 1 per decode step)."""
        self.used += units

    def expired(self) -> bool:
        """Whether the work budget is spent (or a runaway passed the wall-clock limit)."""
        if self.tripped is not None:
            return True
        if self.limit is not None and self.used > self.limit:
            self.tripped = "work"
        elif self._at is not None and self._clock() > self._at:
            self.tripped = "time"
        return self.tripped is not None


def as_text(data: bytes) -> str | None:
    """`data` as UTF-8 text when it is mostly printable (≤ 10% control or invalid bytes), else None."""
    if not data:
        return None
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls * 10 > len(data):
        return None
    text = data.decode("utf-8", errors="replace")
    if (controls + text.count("\ufffd")) * 10 > len(text) or _ALNUM.search(text) is None:
        return None
    # Short decodings must read like text: random bytes that happen to be printable are punctuation soup.
    if len(text) < _SHORT and (controls or len(_LETTER_OR_SPACE.findall(text)) * 10 < len(text) * 6):
        return None
    return text


def _shape_table(classes: dict[bytes, bytes], default: bytes) -> bytes:
    """A `bytes.translate` table mapping each byte of a class to that class's marker, others to `default`."""
    table = bytearray(default * 256)
    for members, marker in classes.items():
        for b in members:
            table[b] = marker[0]
    return bytes(table)


_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = b"0123456789"

# Shapes let a plain `in` test on translated bytes stand in for a regex scan (ten times cheaper): the
# text is encoded with one "?" per non-ASCII code point, so positions still line up.
BASE64_SHAPE = _shape_table({_LOWER + _UPPER + _DIGITS + b"+/_-": b"b", b"=": b"="}, b" ")
HEX_SHAPE = _shape_table({_DIGITS + b"abcdefABCDEF": b"h", b" :,-": b"s"}, b"x")
LEET_SHAPE = _shape_table({_LOWER + _UPPER: b"a", _DIGITS + b"@$": b"1"}, b" ")


def ascii_shadow(text: str) -> bytes:
    """`text` as ASCII bytes with one "?" for each other code point (so offsets match)."""
    return text.encode("ascii", "replace")
