"""Byte-level decoders: base64 (standard and URL-safe), base32, hex, escape sequences, percent-encoding."""

from __future__ import annotations

import base64
import binascii
import itertools
import re

from stormwatch.detectors.decoders._common import BASE64_SHAPE, HEX_SHAPE, Budget, Found, as_text

MIN_BLOB_CHARS = 16
"""Shortest run of base64/base32/hex characters worth decoding, padding included."""

# Start only at a run boundary so the scan stays linear on long runs.
_BLOB = re.compile(r"(?<![A-Za-z0-9+/_=-])(?:[A-Za-z0-9+/_-]{16,}={0,6}|[A-Za-z0-9+/_-]{10,15}={1,6})")
_HEX_ONLY = re.compile(r"[0-9A-Fa-f]+")
_BASE32_ONLY = re.compile(r"[A-Z2-7]+|[a-z2-7]+")
_SPACED_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{2}(?:[ :,-][0-9A-Fa-f]{2}){7,}(?![0-9A-Za-z])")
_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|0[xX]([0-9A-Fa-f]{2})(?![0-9A-Fa-f])")
_ESCAPE_GAP = re.compile(r"[\s,;]{0,3}")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_PERCENT_SEQ = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_PERCENT_RUN = re.compile(r"(?<!\S)\S*%[0-9A-Fa-f]{2}\S*")
_MIN_ESCAPES = 4
_MIN_PERCENT = 2


_LONG_RUN = b"b" * MIN_BLOB_CHARS
_PADDED_RUN = b"b" * 10 + b"="
_SPACED_HEX_RUN = b"hhs" * 7 + b"hh"


def blobs(text: str, shadow: bytes, budget: Budget) -> list[Found]:
    """Decode long runs of base64/base32/hex characters that turn out to be text (first fit wins).

    `shadow` is `ascii_shadow(text)`, used for a cheap look before any regex runs.
    """
    out: list[Found] = []
    shape = shadow.translate(BASE64_SHAPE)
    if _LONG_RUN in shape or _PADDED_RUN in shape:
        for m in _BLOB.finditer(text):
            budget.charge(len(m.group()) + 1)  # each blob is tried as base64, base32 and hex
            if budget.expired():
                break
            found = _decode_blob(m.group())
            if found is not None:
                out.append((found[0], found[1], m.start(), m.end()))
    if _SPACED_HEX_RUN in shadow.translate(HEX_SHAPE):
        for m in _SPACED_HEX.finditer(text):
            budget.charge(len(m.group()) + 1)
            if budget.expired():
                break
            decoded = _hex(re.sub(r"[ :,-]", "", m.group()))
            if decoded is not None:
                out.append((decoded, "hex", m.start(), m.end()))
    return out


def _decode_blob(blob: str) -> tuple[str, str] | None:
    core = blob.rstrip("=")
    if len(blob) < MIN_BLOB_CHARS:
        return None
    if len(core) % 2 == 0 and _HEX_ONLY.fullmatch(core):
        decoded = _hex(core)
        if decoded is not None:
            return decoded, "hex"
    if _BASE32_ONLY.fullmatch(core) and len(core) % 8 in (0, 2, 4, 5, 7):
        decoded = _base32(core)
        if decoded is not None:
            return decoded, "base32"
    decoded = _base64(core)
    if decoded is not None:
        return decoded, "base64"
    return None


def _hex(digits: str) -> str | None:
    try:
        return as_text(bytes.fromhex(digits))
    except ValueError:
        return None


def _base32(core: str) -> str | None:
    try:
        data = base64.b32decode(core + "=" * (-len(core) % 8), casefold=True)
    except (binascii.Error, ValueError):
        return None
    return as_text(data)


def _base64(core: str) -> str | None:
    urlsafe = "-" in core or "_" in core
    if (urlsafe and ("+" in core or "/" in core)) or len(core) % 4 == 1:
        return None
    padded = core + "=" * (-len(core) % 4)
    try:
        data = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return as_text(data)


def escapes(text: str, shadow: bytes, budget: Budget) -> list[Found]:
    r"""Decode runs of `\x41`, `\u0041` and `0x41` escapes (at least four in a row; spaces may separate them).

    Scattered escapes (a JSON string with two escaped bullets) are not a run and give no view.
    """
    # One-byte searches first: they are memchr, several times cheaper than two-byte ones.
    if b"\\" not in shadow and (b"0" not in shadow or (b"0x" not in shadow and b"0X" not in shadow)):
        return []
    out: list[Found] = []
    run: list[re.Match[str]] = []
    for i, m in enumerate(_ESCAPE.finditer(text)):
        if i % 256 == 255 and budget.expired():
            break
        if run and not _ESCAPE_GAP.fullmatch(text, run[-1].end(), m.start()):
            out += _decode_escape_run(text, run)
            run = []
        run.append(m)
    out += _decode_escape_run(text, run)
    return out


def _decode_escape_run(text: str, run: list[re.Match[str]]) -> list[Found]:
    if len(run) < _MIN_ESCAPES:
        return []
    buf = bytearray()
    printable = 0
    prev: re.Match[str] | None = None
    for m in run:
        if prev is not None and not (prev.group(3) and m.group(3)):
            # Between "0x69, 0x67" list items the separators are syntax; elsewhere keep the gap.
            buf += text[prev.end() : m.start()].encode("utf-8", "surrogatepass")
        hex_byte = m.group(1) or m.group(3)
        code = int(hex_byte if hex_byte is not None else m.group(2), 16)
        printable += code >= 0x20 and code != 0x7F
        if hex_byte is not None:
            buf.append(code)
        else:
            buf += chr(code).encode("utf-8", "surrogatepass")
        prev = m
    # Escapes of mostly control bytes are binary data or a list of numbers, not hidden text.
    if printable * 4 < len(run) * 3:
        return []
    decoded = as_text(bytes(buf))
    if decoded is None:
        return []
    return [(decoded, "hex", run[0].start(), run[-1].end())]


def percent(text: str, shadow: bytes, budget: Budget) -> list[Found]:
    """Decode URL percent-encoding in whitespace-separated runs that hold at least two escapes."""
    if b"%" not in shadow:
        return []
    if len(list(itertools.islice(_PERCENT.finditer(text), _MIN_PERCENT))) < _MIN_PERCENT:
        return []
    out: list[Found] = []
    runs = [(m.start(), m.end()) for m in _PERCENT_RUN.finditer(text)]
    # Merge runs separated by whitespace only, so a sentence with several encoded words is one view.
    merged: list[list[int]] = []
    for s, e in runs:
        if merged and not text[merged[-1][1] : s].strip():
            merged[-1][1] = e
        else:
            merged.append([s, e])
    for s, e in merged:
        if budget.expired():
            break
        chunk = text[s:e]
        if len(_PERCENT.findall(chunk)) < _MIN_PERCENT:
            continue
        decoded = _PERCENT_SEQ.sub(_unpercent, chunk)
        if decoded != chunk and as_text(decoded.encode("utf-8", "surrogatepass")) is not None:
            out.append((decoded, "url", s, e))
    return out


def _unpercent(m: re.Match[str]) -> str:
    return bytes.fromhex(m.group().replace("%", "")).decode("utf-8", errors="replace")
