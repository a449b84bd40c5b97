"""`decode_views`: run every decoder, then decode the results again, within the limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from stormwatch.detectors.decoders import _binary, _unicode, _wordplay
from stormwatch.detectors.decoders._common import Budget, Found, ascii_shadow
from stormwatch.detectors.decoders._models import DecodedView, DecodeLimits

_DEFAULT_LIMITS = DecodeLimits()
# Applying these twice in a row gives back what they started from.
_INVOLUTIONS = frozenset({"rot13", "reversed", "reversed-words", "bidi"})


Decoder = Callable[[str, bytes, Budget], list[Found]]

# Unicode first: when two decoders reach the same text, the first one names it.
_DECODERS: tuple[Decoder, ...] = (
    _unicode.decode_unicode,
    _binary.escapes,
    _binary.percent,
    _binary.blobs,
    _wordplay.leetspeak,
    _wordplay.wordplay,
)


@dataclass(frozen=True)
class DecodeReport:
    """What one decoding found and what it cost.

    `work` counts characters examined plus one per decoder run and the characters of each view produced.
    `exhausted` is None when decoding finished, "work" when the work budget ran out before it did (the
    views are those found until then, the same on every machine), "time" when the wall-clock limit ended
    a runaway.
    """

    views: list[DecodedView]
    work: int
    exhausted: str | None = None


def decode_one_layer(text: str, budget: Budget) -> list[Found]:
    """Every single-layer decoding of `text` (possibly one already seen; the caller drops those)."""
    shadow = ascii_shadow(text)
    out: list[Found] = []
    for decoder in _DECODERS:
        if budget.expired():
            break
        budget.charge(len(text) + 1)  # each decoder looks at the whole text at most a few times
        if budget.expired():
            break
        out += decoder(text, shadow, budget)
    return out


def decode_views(text: str, *, limits: DecodeLimits | None = None) -> list[DecodedView]:
    """Decoded readings of `text` that differ from it (none for ordinary prose, cheaply), breadth first.

    Each view is decoded again up to `limits.max_depth` layers; at most `limits.max_views` views holding
    at most `limits.output_budget(len(text))` characters together come back, and work stops when the work
    budget `limits.work_budget(len(text))` is spent (the views found so far are returned). Never raises
    on any `str`. `decode_report` says in addition what it cost and whether it was cut short.
    """
    return decode_report(text, limits=limits).views


def decode_report(
    text: str,
    *,
    limits: DecodeLimits | None = None,
    max_work: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> DecodeReport:
    """`decode_views` with its cost: work done and whether a budget cut it short.

    `max_work` lowers the work budget further (the engine passes what is left of an event's budget).
    """
    lim = limits or _DEFAULT_LIMITS
    if not text or lim.max_views == 0:
        return DecodeReport([], 0)
    work = lim.work_budget(len(text))
    if max_work is not None:
        work = min(work, max(max_work, 0))
    budget = Budget(work, lim.time_budget_s, clock)
    views = _decode(text, lim, budget)
    return DecodeReport(views, budget.used, budget.tripped)


def _decode(text: str, lim: DecodeLimits, budget: Budget) -> list[DecodedView]:
    source = text if len(text) <= lim.max_input_chars else text[: lim.max_input_chars]
    room = lim.output_budget(len(text))
    views: list[DecodedView] = []
    seen: set[str] = {source}
    # (text, chain, span in the original, last decoder)
    frontier: list[tuple[str, str, int | None, int | None, str]] = [(source, "", None, None, "")]
    for depth in range(1, lim.max_depth + 1):
        following: list[tuple[str, str, int | None, int | None, str]] = []
        for current, chain, span_start, span_end, last in frontier:
            if budget.expired():
                return views
            for decoded, name, start, end in decode_one_layer(current, budget):
                if (name == last and name in _INVOLUTIONS) or decoded in seen or len(decoded) > room:
                    continue
                budget.charge(len(decoded))
                seen.add(decoded)
                if start > 0 or end < len(current):
                    seen.add(current[start:end])  # so undoing this decoding is not a new view
                if depth == 1:
                    span_start, span_end = start, end
                view = DecodedView(
                    text=decoded,
                    decoded_by=f"{chain}>{name}" if chain else name,
                    source_start=span_start,
                    source_end=span_end,
                    depth=depth,
                )
                views.append(view)
                room -= len(decoded)
                if len(views) >= lim.max_views:
                    return views
                following.append((decoded, view.decoded_by, span_start, span_end, name))
        frontier = following
        if not frontier:
            break
    return views
