"""Where the project's external inputs live."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent.parent
SHARED_ENV = "STORMWATCH_SHARED"


def shared_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The shared folder with external data sets: `environ["STORMWATCH_SHARED"]` when the caller passes an
    environment that sets it (the CLI and benchmarks pass `os.environ`), else ../shared beside the repo."""
    env = (environ or {}).get(SHARED_ENV)
    if env:
        return Path(env)
    return REPO_DIR.parent / "shared"


def datasets_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The external data sets folder (shared/datasets)."""
    return shared_dir(environ) / "datasets"
