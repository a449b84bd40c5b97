"""Fixtures for ingest tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Writer, compress, encode_lines


@pytest.fixture
def write_lines(tmp_path: Path) -> Writer:
    """Write lines to tmp_path/name, compressed as asked; returns the path."""

    def write(name: str, lines: Sequence[Any], compression: str = "none") -> Path:
        path = tmp_path / name
        path.write_bytes(compress(encode_lines(lines), compression))
        return path

    return write
