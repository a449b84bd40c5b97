"""`decode_views`: run every decoder, then decode the results again, within the limits."""

from __future__ import annotations

from collections.abc import Callable

from stormwatch.detectors.decoders import _binary, _unicode, _wordplay
from stormwatch.detectors.decoders._common import Deadline, Found, ascii_shadow
from stormwatch.detectors.decoders._models import DecodedView, DecodeLimits

_DEFAULT_LIMITS = DecodeLimits()
# Applying these twice in a row gives back what they started from.
_INVOLUTIONS = frozenset({"rot13", "reversed", "reversed-words", "bidi"})


Decoder = Callable[[str, bytes, Deadline], list[Found]]

# Unicode first: when two decoders reach the same text, the first one names it.
_DECODERS: tuple[Decoder, ...] = (
    _unicode.decode_unicode,
    _binary.escapes,
    _binary.percent,
    _binary.blobs,
    _wordplay.leetspeak,
    _wordplay.wordplay,
)


def decode_one_layer(text: str, deadline: Deadline) -> list[Found]:
    """Every single-layer decoding of `text` (possibly one already seen; the caller drops those)."""
    shadow = ascii_shadow(text)
    out: list[Found] = []
    for decoder in _DECODERS:
        if deadline.expired():
            break
        out += decoder(text, shadow, deadline)
    return out


def decode_views(text: str, *, limits: DecodeLimits | None = None) -> list[DecodedView]:
    """Decoded readings of `text` that differ from it (none for ordinary prose), breadth first.

    Each view is decoded again up to `limits.max_depth` layers; at most `limits.max_views` views holding
    at most `limits.output_budget(len(text))` characters together come back, and work stops when the time
    budget is spent (the views found so far are returned). Never raises on any `str`.
    """
    lim = limits or _DEFAULT_LIMITS
    if not text or lim.max_views == 0:
        return []
    deadline = Deadline(lim.time_budget_s)
    source = text if len(text) <= lim.max_input_chars else text[: lim.max_input_chars]
    room = lim.output_budget(len(text))
    views: list[DecodedView] = []
    seen: set[str] = {source}
    # (text, chain, span in the original, last decoder)
    frontier: list[tuple[str, str, int | None, int | None, str]] = [(source, "", None, None, "")]
    for depth in range(1, lim.max_depth + 1):
        following: list[tuple[str, str, int | None, int | None, str]] = []
        for current, chain, span_start, span_end, last in frontier:
            if deadline.expired():
                return views
            for decoded, name, start, end in decode_one_layer(current, deadline):
                if (name == last and name in _INVOLUTIONS) or decoded in seen or len(decoded) > room:
                    continue
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
