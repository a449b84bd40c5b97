"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stormwatch._paths import datasets_dir


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared datasets folder; skips when absent, but fails loudly in CI (CI=true)."""
    path = datasets_dir(os.environ)
    if not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"shared datasets folder {path} is missing and CI=true: these tests must run in CI")
        pytest.skip(f"shared datasets folder {path} not present")
    return path
