"""Unicode decoders: invisible characters, tag and variation-selector smuggling, bidi, NFKC, homoglyphs.

Regex classes are split into a BMP part and an astral part: a class that mixes both is scanned range by
range (several times slower), and most text has no astral characters at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from stormwatch.detectors.decoders._common import Budget, Found, as_text

# -- character classes ------------------------------------------------------------------------------------
_ZW_BMP = (
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2060-\u2064\u206a-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0"
)
_ZW_ASTRAL = "\U0001d173-\U0001d17a\U000e0100-\U000e01ef"
_BIDI_BMP = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_TAG_ASTRAL = "\U000e0000-\U000e007f"

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ZW = re.compile(f"[{_ZW_BMP}{_ZW_ASTRAL}]")
_BIDI = re.compile(f"[{_BIDI_BMP}]+")
_TAGS = re.compile(f"[{_TAG_ASTRAL}]+")
_HIDDEN_BMP = re.compile(f"[{_ZW_BMP}{_BIDI_BMP}]+")
_HIDDEN_ALL = re.compile(f"[{_ZW_BMP}{_BIDI_BMP}{_ZW_ASTRAL}{_TAG_ASTRAL}]+")
_RLO_SEGMENT = re.compile("\u202e([^\u202c\u2029\n]*)\u202c?")
_VS_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{4,}")
_FLAG_TAG_RUN = re.compile(f"\U0001f3f4[{_TAG_ASTRAL}]+")
# Printable tag characters U+E0020..U+E007E mirror ASCII; the others (language tag, cancel tag) drop.
_NOT_PRINTABLE_ASCII = bytes(range(0x20)) + bytes(range(0x7F, 0x100))

# -- homoglyphs ---------------------------------------------------------------------------------------------
# Letters from other scripts (and Latin small capitals) that render like a Latin letter, after the
# prototypes in Unicode's confusables.txt; NFKC already covers fullwidth and mathematical letters.
_CONFUSABLE_GROUPS = {
    "a": "аɑαᴀ",
    "b": "Ьʙ",
    "c": "сϲᴄ",
    "d": "ԁᴅ",
    "e": "еεᴇ",
    "g": "ɡցɢ",
    "h": "һհʜ",
    "i": "іιıɩɪ",
    "j": "јϳȷᴊ",
    "k": "κᴋ",
    "l": "ӏʟ",
    "m": "ᴍ",
    "n": "ոɴ",
    "o": "оοօᴏ",
    "p": "рρᴘ",
    "q": "ԛզ",
    "r": "ʀ",
    "s": "ѕꜱ",
    "t": "ᴛ",
    "u": "υսᴜ",
    "v": "νᴠ",
    "w": "ԝᴡ",
    "x": "хχ",
    "y": "уγʏ",
    "z": "ᴢ",
    "A": "АΑᎪ",
    "B": "ВΒᏴ",
    "C": "СϹᏟ",
    "D": "Ꭰ",
    "E": "ЕΕᎬ",
    "G": "Ꮐ",
    "H": "НΗᎻ",
    "I": "ІΙӀ",
    "J": "ЈᎫ",
    "K": "КΚᏦ",
    "L": "Ꮮ",
    "M": "МΜᎷ",
    "N": "Ν",
    "O": "ОΟՕ",
    "P": "РΡᏢ",
    "S": "ЅᏚ",
    "T": "ТΤᎢ",
    "V": "Ꮩ",
    "W": "Ꮃ",
    "X": "ХΧ",
    "Y": "ΥҮ",
    "Z": "ΖᏃ",
}
_CONFUSABLES: dict[str, str] = {ch: latin for latin, group in _CONFUSABLE_GROUPS.items() for ch in group}
# Negative circled/squared capitals and regional indicators are not folded by NFKC.
for _i in range(26):
    for _base in (0x1F150, 0x1F170, 0x1F1E6):
        _CONFUSABLES[chr(_base + _i)] = chr(ord("A") + _i)

_FOLD_TABLE = str.maketrans(_CONFUSABLES)
_CONFUSABLE_SET = frozenset(_CONFUSABLES)
# Turkish and Azerbaijani write a real dotless ı; in their text it is a letter, not a disguise.
_DOTLESS_I = "ı"
_TURKIC_LETTERS = "şğçöüŞĞÇÖÜİ"
_FOLD_TABLE_TURKIC = str.maketrans({k: v for k, v in _CONFUSABLES.items() if k != _DOTLESS_I})
_CONFUSABLE_SET_TURKIC = _CONFUSABLE_SET - {_DOTLESS_I}
# Scripts the table borrows from (Greek, Cyrillic, Armenian, Cherokee, IPA and phonetic small capitals,
# Latin extended-D, enclosed capitals).
_LOOKALIKE_BMP = "\u0131\u0237\u0250-\u02af\u0370-\u058f\u13a0-\u13ff\u1d00-\u1d7f\ua730-\ua7ff\uab70-\uabbf"
_LOOKALIKE_ASTRAL = "\U0001f150-\U0001f1ff"
_LOOKALIKE_IN_BMP = re.compile(f"[{_LOOKALIKE_BMP}]")
_LOOKALIKE_IN_ASTRAL = re.compile(f"[{_LOOKALIKE_ASTRAL}]")
_LOOKALIKE_RUN = re.compile(f"[{_LOOKALIKE_BMP}{_LOOKALIKE_ASTRAL}]+")
# ASCII letters → "a", everything non-ASCII (one "?" per code point after encoding) → "?", rest → " ".
_MIX_SHAPE = bytes(
    ord("a") if (65 <= b <= 90 or 97 <= b <= 122) else (ord("?") if b == ord("?") else 32) for b in range(256)
)


def _letters_without_lookalike() -> str:
    """A regex class of the letters in those scripts that have no Latin look-alike."""
    spans: list[tuple[int, int]] = []
    for lo, hi in ((0x0370, 0x058F), (0x13A0, 0x13FF), (0xAB70, 0xABBF)):
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if ch.isalpha() and ch not in _CONFUSABLE_SET:
                if spans and spans[-1][1] == cp - 1:
                    spans[-1] = (spans[-1][0], cp)
                else:
                    spans.append((cp, cp))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in spans)


# Any of these means the text is genuinely written in that script (Russian, Greek, ...), not disguised Latin.
_GENUINE_SCRIPT = re.compile(f"[{_letters_without_lookalike()}]")


def _has_lookalike(text: str, astral: bool) -> bool:
    if _LOOKALIKE_IN_BMP.search(text) is not None:
        return True
    return astral and _LOOKALIKE_IN_ASTRAL.search(text) is not None


def _mixes_scripts(text: str, confusable: frozenset[str]) -> bool:
    """Whether a look-alike letter touches an ASCII letter inside a word ("іgnore")."""
    shape = text.encode("ascii", "replace").translate(_MIX_SHAPE)
    if b"a?" not in shape and b"?a" not in shape:
        return False
    n = len(text)
    for m in _LOOKALIKE_RUN.finditer(text):
        s, e = m.span()
        touches = (s > 0 and text[s - 1].isascii() and text[s - 1].isalpha()) or (
            e < n and text[e].isascii() and text[e].isalpha()
        )
        if touches and any(ch in confusable for ch in m.group()):
            return True
    return False


def fold_homoglyphs(text: str) -> str:
    """Map look-alike letters to Latin when the text disguises Latin, leaving genuine non-Latin text alone.

    Folds when a word mixes Latin with look-alikes ("іgnore"), or when every letter from those scripts has
    a Latin look-alike and at least three are folded (a word spelt in Cyrillic look-alikes inside English,
    but not a lone flag emoji made of two regional indicators). In Turkish text the dotless ı stays.
    """
    astral = _ASTRAL.search(text) is not None
    if not _has_lookalike(text, astral):
        return text
    turkic = _DOTLESS_I in text and any(ch in text for ch in _TURKIC_LETTERS)
    table, confusable = (
        (_FOLD_TABLE_TURKIC, _CONFUSABLE_SET_TURKIC) if turkic else (_FOLD_TABLE, _CONFUSABLE_SET)
    )
    mixed = _mixes_scripts(text, confusable)
    if not mixed and _GENUINE_SCRIPT.search(text) is not None:
        return text
    changed = 0

    def fold(m: re.Match[str]) -> str:
        nonlocal changed
        run = m.group()
        out = run.translate(table)
        changed += sum(map(str.__ne__, run, out))
        return out

    folded = _LOOKALIKE_RUN.sub(fold, text)
    return folded if mixed or changed >= 3 else text


def strip_hidden(text: str) -> str:
    """Remove zero-width, bidi-control, tag and variation-selector characters."""
    pattern = _HIDDEN_ALL if _ASTRAL.search(text) is not None else _HIDDEN_BMP
    return pattern.sub("", text)


def nfkc(text: str) -> str:
    """NFKC-normalize (fullwidth, mathematical, circled letters → plain), skipping already-normal text."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def normalize_for_matching(text: str) -> str:
    """Cheap canonical form for matching: hidden characters removed, NFKC, casefold, homoglyphs folded.

    Offsets into the result do not map back to `text`; ordinary ASCII text only gets lower-cased.
    """
    if text.isascii():
        return text.lower()
    return fold_homoglyphs(nfkc(strip_hidden(text)).casefold())


# -- decoders ----------------------------------------------------------------------------------------------
# Characters whose NFKC form is a Latin letter (fullwidth, mathematical, circled and squared letters,
# ligatures, superscripts, letter-like symbols). No-break spaces, ellipses, "™", circled digits and
# CJK fullwidth punctuation also change under NFKC but expose nothing, so they do not start a clean-up.
_NFKC_BMP = (
    "\u02b0-\u02b8\u1d2c-\u1d6a\u1d9b-\u1dbf\u2071\u207f\u2090-\u209c\u2102\u2107\u210a-\u2113\u2115"
    "\u2119-\u211d\u2124\u2128\u212c\u212d\u212f-\u2131\u2133-\u2139\u213c-\u2149\u249c-\u24e9"
    "\ufb00-\ufb06\uff21-\uff3a\uff41-\uff5a"
)
_NFKC_ASTRAL = "\U0001d400-\U0001d7ff\U0001f110-\U0001f149"
_NFKC_IN_BMP = re.compile(f"[{_NFKC_BMP}]")
_NFKC_IN_ASTRAL = re.compile(f"[{_NFKC_ASTRAL}]")
# One fast BMP scan that says whether any Unicode decoder could find something.
_WORTH_A_LOOK_BMP = re.compile(f"[{_ZW_BMP}{_BIDI_BMP}{_LOOKALIKE_BMP}{_NFKC_BMP}]")


def decode_unicode(text: str, shadow: bytes, budget: Budget) -> list[Found]:
    """Every Unicode decoding of a text: smuggled payloads, bidi display order, clean-up (none for ASCII)."""
    if text.isascii():
        return []
    astral = _ASTRAL.search(text) is not None
    if not astral and _WORTH_A_LOOK_BMP.search(text) is None:
        return []
    out: list[Found] = []
    if astral:
        out += _tag_payload(text, budget)
    out += _variation_selector_payload(text, budget)
    if "\u202e" in text:
        out += _bidi_visual(text)
    out += _cleanup(text, astral, budget)
    return out


def _tag_payload(text: str, budget: Budget) -> list[Found]:
    """The ASCII hidden in Unicode tag characters ("ASCII smuggling"), as one view over all tag runs."""
    if _TAGS.search(text) is None:
        return []
    flags = {m.end() for m in _FLAG_TAG_RUN.finditer(text)} if "\U0001f3f4" in text else set()
    parts: list[bytes] = []
    start = end = -1
    for i, m in enumerate(_TAGS.finditer(text)):
        if i % 256 == 255 and budget.expired():
            break
        if m.end() in flags:  # subdivision flags (England, Scotland, Wales) are spelt in tag characters
            continue
        # In UTF-32-LE a tag character U+E00xx is the bytes xx 00 0E 00: every fourth byte is its ASCII.
        parts.append(m.group().encode("utf-32-le")[::4].translate(None, _NOT_PRINTABLE_ASCII))
        start = m.start() if start < 0 else start
        end = m.end()
    payload = b"".join(parts).decode("ascii")
    if len(payload.strip()) < 2:
        return []
    return [(payload, "unicode-tags", start, end)]


def _variation_selector_payload(text: str, budget: Budget) -> list[Found]:
    """Bytes hidden in runs of variation selectors (one selector per byte), when they decode to text."""
    out: list[Found] = []
    for m in _VS_RUN.finditer(text):
        if budget.expired():
            break
        data = bytes(cp - 0xFE00 if cp <= 0xFE0F else cp - 0xE0100 + 16 for cp in map(ord, m.group()))
        decoded = as_text(data)
        if decoded is not None:
            out.append((decoded, "variation-selectors", m.start(), m.end()))
    return out


def _bidi_visual(text: str) -> list[Found]:
    """The text as displayed when right-to-left overrides reverse a run ("\u202eerongi" shows "ignore")."""
    shown = _BIDI.sub("", _RLO_SEGMENT.sub(lambda m: m.group(1)[::-1], text))
    return [(shown, "bidi", 0, len(text))]


def _hidden_kinds(runs: Iterable[str]) -> list[str]:
    kinds: list[str] = []
    for name, pattern in (("unicode-tags", _TAGS), ("zero-width", _ZW), ("bidi", _BIDI)):
        if any(pattern.search(run) is not None for run in runs):
            kinds.append(name)
    return kinds


def _cleanup(text: str, astral: bool, budget: Budget) -> list[Found]:
    """One clean-up layer: drop hidden characters, NFKC, fold homoglyphs; named by the steps that mattered.

    Kept only when it exposes something: a hidden character that split a word, a compatibility letter
    spelt out, or a look-alike folded.
    """
    steps: list[str] = []
    t = text
    hidden = _HIDDEN_ALL if astral else _HIDDEN_BMP
    if hidden.search(text) is not None:
        n = len(text)
        splitting: list[str] = []
        for i, m in enumerate(hidden.finditer(text)):
            if i % 256 == 255 and budget.expired():
                return []
            s, e = m.span()
            if s > 0 and e < n and text[s - 1].isalnum() and text[e].isalnum():
                splitting.append(m.group())
        steps += _hidden_kinds(splitting)
        t = hidden.sub("", text)
    if _NFKC_IN_BMP.search(t) is not None or (astral and _NFKC_IN_ASTRAL.search(t) is not None):
        n_text = nfkc(t)
        if n_text != t:
            steps.append("nfkc")
            t = n_text
    folded = fold_homoglyphs(t)
    if folded != t:
        steps.append("homoglyph")
        t = folded
    if not steps:
        return []
    return [(t, "+".join(steps), 0, len(text))]
