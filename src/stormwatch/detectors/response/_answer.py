"""Which turn is the answer, the bounded part of it that is read, and which of its lines are code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stormwatch.models import Event

HEAD_CHARS = 48_000  # of a long answer the head and the tail are read (bounded work)
TAIL_CHARS = 16_000
CONTEXT_ROLES = ("system", "developer")
# Event.metadata key under which a caller that scans the answer alone (the guard's stream re-scans) passes
# the request's system/developer texts: a list of strings. The answer detectors read it; no other detector
# does, so the request's own turns are not scanned (or decoded) again on every re-scan.
ANSWER_CONTEXT_KEY = "stormwatch.answer_context"
MAX_LINE = 400  # characters of a line the code-shape test reads

_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
# A line that reads as code: statement endings, braces, assignments, calls, shell prompts, keywords.
_CODE_LINE = re.compile(
    r"^[ \t]*(?:#include|import |from \S+ import|def |class |return\b|if\b|for\b|while\b|try:|except\b|"
    r"with |elif\b|else\b|\$ |PS>|sudo |echo |set |reg |powershell|int |void |char |static |const |let |var |"
    r"function\b|public |private |using |#!|@reboot|\}|\{|//|/\*)"
    r"|[;{}]\s*$|^[ \t]*[\w.\[\]]+\s*(?:=|\+=)\s*\S|^[ \t]*[\w.]+\([^\n]*\)\s*:?\s*$"
)


@dataclass(frozen=True)
class Segment:
    """A piece of the answer that is read, with its offset into the answer text."""

    offset: int
    text: str


@dataclass(frozen=True)
class Answer:
    """The answer turn of an event: its index in `Event.turns()` and the segments that are read."""

    turn: int
    text: str
    segments: tuple[Segment, ...]


def answer_of(event: Event, head_chars: int = HEAD_CHARS, tail_chars: int = TAIL_CHARS) -> Answer | None:
    """The model's answer: `response`, else a trailing assistant message (a decoded view of an answer).

    Of an answer longer than `head_chars + tail_chars` only the head and the tail are read."""
    turns = event.turns()
    if not turns:
        return None
    last = turns[-1]
    if event.response is None and last.role != "assistant":
        return None
    text = last.content
    if not text.strip():
        return None
    if len(text) <= head_chars + tail_chars:
        segs: tuple[Segment, ...] = (Segment(0, text),)
    elif tail_chars == 0:
        segs = (Segment(0, text[:head_chars]),)
    else:
        tail0 = len(text) - tail_chars
        segs = (Segment(0, text[:head_chars]), Segment(tail0, text[tail0:]))
    return Answer(turn=len(turns) - 1, text=text, segments=segs)


def context_of(event: Event, answer_turn: int) -> list[str]:
    """The system and developer messages before the answer, then any texts under ANSWER_CONTEXT_KEY."""
    out = [m.content for m in event.turns()[:answer_turn] if m.role in CONTEXT_ROLES and m.content.strip()]
    extra = event.metadata.get(ANSWER_CONTEXT_KEY)
    if isinstance(extra, list | tuple):
        out.extend(t for t in extra if isinstance(t, str) and t.strip())
    return out


class CodeMap:
    """Which character offsets of a text lie on code lines (inside a fence, or a line that reads as code)."""

    def __init__(self, text: str) -> None:
        self._starts: list[int] = []
        self._code: list[bool] = []
        inside = False
        pos = 0
        for line in text.splitlines(keepends=True):
            fence = _FENCE.match(line) is not None
            self._starts.append(pos)
            self._code.append(inside or fence or _CODE_LINE.search(line[:MAX_LINE].rstrip("\n")) is not None)
            if fence:
                inside = not inside
            pos += len(line)

    def is_code(self, at: int) -> bool:
        """Whether the line holding offset `at` is code."""
        if not self._starts:
            return False
        lo, hi = 0, len(self._starts) - 1
        while lo < hi:  # the last line starting at or before `at`
            mid = (lo + hi + 1) // 2
            if self._starts[mid] <= at:
                lo = mid
            else:
                hi = mid - 1
        return self._code[lo]
