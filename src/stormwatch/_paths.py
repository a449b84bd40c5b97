"""Where the project's external inputs live."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent.parent


def shared_dir() -> Path:
    """The shared folder with external data sets: $STORMWATCH_SHARED, else ../shared beside the repo."""
    env = os.environ.get("STORMWATCH_SHARED")
    if env:
        return Path(env)
    return REPO_DIR.parent / "shared"


def datasets_dir() -> Path:
    """The external data sets folder (shared/datasets)."""
    return shared_dir() / "datasets"
