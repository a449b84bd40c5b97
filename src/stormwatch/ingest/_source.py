"""Open an input (path, "-" or binary stream), undo gzip/zstd compression, and pick its format."""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import zstandard

from stormwatch.ingest._report import RecordError

Format = Literal["auto", "jsonl", "openai", "csv", "parquet"]
Source = str | Path | IO[bytes]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
_BUFFER = 1 << 20
_COMPRESSION_SUFFIXES = (".gz", ".gzip", ".zst", ".zstd")
_EXT_FORMATS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Errors a decompressor or the operating system raises while a stream is read.
STREAM_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zstandard.ZstdError)


class _Prefixed(io.RawIOBase):
    """A raw stream that first replays bytes already read (the magic sniff), then reads the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        # read1 returns what is there now, so a line on a live pipe is seen without waiting for a full buffer
        self._read = getattr(rest, "read1", rest.read)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n


class TruncatedInput(EOFError):
    """A compressed input ends inside a frame (or gzip member): it was cut short."""


class _ZstdRaw(io.RawIOBase):
    """zstd frames decompressed from `base`, raising `TruncatedInput` when the input ends inside a frame.

    (`zstandard`'s stream reader reports a cut frame as a clean end of stream: events lost in silence.)
    Input is fed in small pieces so one read cannot inflate a crafted block into gigabytes at once.
    """

    _IN = 1024

    def __init__(self, base: IO[bytes]) -> None:
        self._base = base
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._fed = False  # has the current frame received any byte?
        self._out = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        while self._pos >= len(self._out):
            chunk = self._base.read(self._IN)
            if not chunk:
                if self._fed:
                    raise TruncatedInput("the zstd input ends inside a frame (cut short)")
                return 0
            self._out = self._feed(chunk)
            self._pos = 0
        n = min(len(buffer), len(self._out) - self._pos)
        buffer[:n] = self._out[self._pos : self._pos + n]
        self._pos += n
        return n

    def _feed(self, chunk: bytes) -> bytes:
        parts: list[bytes] = []
        while chunk:
            self._fed = True
            parts.append(self._obj.decompress(chunk))
            if not self._obj.eof:
                break
            chunk = self._obj.unused_data  # the next frame (zstd files may hold several)
            self._obj = self._dctx.decompressobj()
            self._fed = False
        return b"".join(parts)


@dataclass
class Opened:
    """An opened input: a buffered, decompressed binary stream, its display name and what it was."""

    stream: io.BufferedIOBase
    name: str
    compression: Literal["none", "gzip", "zstd"]
    path: Path | None
    """The file on disk, when the input is an uncompressed path (Parquet reads it directly)."""
    events_before: int = 0
    """The report's event count when this source was opened (so damage can say what this source gave)."""


def source_name(source: Source) -> str:
    """A short display name for an input: the path as given, `<stdin>`, or a stream's name."""
    if isinstance(source, Path):
        return str(source)
    if isinstance(source, str):
        return "<stdin>" if source == "-" else source
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


def _read_head(raw: IO[bytes], n: int) -> bytes:
    head = b""
    while len(head) < n:
        chunk = raw.read(n - len(head))
        if not chunk:
            break
        head += chunk
    return head


@contextmanager
def open_source(source: Source) -> Iterator[Opened]:
    """Open `source` for reading, decompressing gzip or zstd found by magic bytes; closes what it opened."""
    name = source_name(source)
    owned: IO[bytes] | None = None
    path: Path | None = None
    if isinstance(source, str | Path) and str(source) != "-":
        path = Path(source)
        try:
            owned = open(path, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            reason = f"cannot open: {exc.strerror or exc}"
            raise RecordError(name, None, None, reason, kind="broken-source") from exc
        raw: IO[bytes] = owned
    elif isinstance(source, str | Path):
        raw = sys.stdin.buffer
    elif isinstance(source, io.TextIOBase) and hasattr(source, "buffer"):
        raw = source.buffer  # a text stream (e.g. sys.stdin): read its bytes
    else:
        raw = source
    try:
        try:
            head = _read_head(raw, 4)
        except OSError as exc:
            raise RecordError(name, None, None, f"cannot read: {exc}", kind="broken-source") from exc
        base = io.BufferedReader(_Prefixed(head, raw), _BUFFER)
        stream: io.BufferedIOBase
        if head.startswith(GZIP_MAGIC):
            stream = gzip.GzipFile(fileobj=base, mode="rb")
            compression: Literal["none", "gzip", "zstd"] = "gzip"
            path = None
        elif head.startswith(ZSTD_MAGIC):
            stream = io.BufferedReader(_ZstdRaw(base), _BUFFER)
            compression = "zstd"
            path = None
        else:
            stream = base
            compression = "none"
        yield Opened(stream=stream, name=name, compression=compression, path=path)
    finally:
        if owned is not None:
            owned.close()


def format_from_name(name: str) -> Format | None:
    """The format an input's file name implies (compression suffixes ignored), or None."""
    lower = name.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            break
    for ext, fmt in _EXT_FORMATS.items():
        if lower.endswith(ext):
            return fmt
    return None


def sniff_format(stream: io.BufferedIOBase) -> Format:
    """Guess a format from the first bytes: Parquet's magic, else JSONL (the stdin default)."""
    head = stream.peek(4)[:4]  # type: ignore[attr-defined]
    return "parquet" if head == PARQUET_MAGIC else "jsonl"
