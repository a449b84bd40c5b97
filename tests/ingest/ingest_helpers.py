"""Shared helpers for ingest tests (imported by name: tests/ingest is on sys.path under pytest)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import zstandard

#: The `write_lines` fixture: write_lines(name, lines, compression="none") -> Path.
Writer = Callable[..., Path]


def encode_lines(lines: Sequence[Any]) -> bytes:
    """Dicts become JSON lines, str/bytes are written as given; each line ends with a newline."""
    out = bytearray()
    for line in lines:
        if isinstance(line, bytes):
            out += line
        elif isinstance(line, str):
            out += line.encode("utf-8")
        else:
            out += json.dumps(line).encode("utf-8")
        out += b"\n"
    return bytes(out)


def compress(data: bytes, compression: str) -> bytes:
    """Compress bytes with gzip, zstd, or not at all."""
    if compression == "gzip":
        return gzip.compress(data)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data
