"""Fixtures for knowledge-base tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from kb_fixtures import MiniSources, write_mini_sources


@pytest.fixture
def mini_sources(tmp_path: Path) -> MiniSources:
    """The tiny hand-made inputs, written to a temporary folder."""
    return write_mini_sources(tmp_path)
