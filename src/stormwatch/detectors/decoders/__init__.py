"""Evasion-resistant decoding: the readings an obfuscated prompt hides (base64, homoglyphs, tags, ...).

`decode_views(text)` returns only views that differ from the text (none for ordinary prose, cheaply);
detectors scan each view and name its `decoded_by` chain. `normalize_for_matching(text)` is a cheap
canonical form (NFKC, casefold, hidden characters removed, homoglyphs folded) for matching.
"""

from stormwatch.detectors.decoders._engine import DecodeReport, decode_report, decode_views
from stormwatch.detectors.decoders._models import DecodedView, DecodeLimits
from stormwatch.detectors.decoders._unicode import normalize_for_matching

__all__ = [
    "DecodeLimits",
    "DecodeReport",
    "DecodedView",
    "decode_report",
    "decode_views",
    "normalize_for_matching",
]
