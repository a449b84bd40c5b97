"""Helpers shared by the export tests: build the fixed data set and compare golden files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from stormwatch.export import ExportData, ExportOptions, gather
from stormwatch.models import Cluster
from stormwatch.store import DuckDBStore

from .conftest import CLUSTERS, CREATED

GOLDEN = Path(__file__).parent / "golden"


def fixed_data(store: DuckDBStore) -> ExportData:
    """The fixed hunt's clusters gathered from the fixture store."""
    return gather([Cluster.model_validate(c) for c in CLUSTERS["clusters"]], store=store)


def fixed_options(**kw: object) -> ExportOptions:
    """Export options with the fixed clock."""
    return ExportOptions(created=CREATED, **kw)  # type: ignore[arg-type]


def check_golden(name: str, text: str) -> None:
    """Compare with tests/export/golden/NAME byte for byte (UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, "utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text("utf-8"), f"{name} differs from its golden file"


def load_json(text: str) -> dict[str, object]:
    """Parse JSON text to a dict."""
    out = json.loads(text)
    assert isinstance(out, dict)
    return out
