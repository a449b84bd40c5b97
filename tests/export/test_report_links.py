"""Hooks for report.html: per-cluster export files with relative links and an inline heat map."""

from __future__ import annotations

import json
from pathlib import Path

from stormwatch.export import ExportOptions, navigator_svg_or_html, report_links
from stormwatch.store import DuckDBStore

from .conftest import CLUSTERS, CREATED


def test_report_links(hunt_dir: Path, store: DuckDBStore) -> None:
    links = report_links(hunt_dir, CLUSTERS["clusters"], store=store, options=ExportOptions(created=CREATED))
    entry = links["c-0001"]
    assert set(entry) == {"stix", "navigator", "navigator_atlas", "misp", "indicators", "heatmap_html"}
    for key in ("stix", "navigator", "navigator_atlas", "misp", "indicators"):
        assert not Path(entry[key]).is_absolute()
        assert json.loads((hunt_dir / entry[key]).read_text("utf-8"))
    assert "T1566" in entry["heatmap_html"] and "Initial Access" in entry["heatmap_html"]
    assert "<script" not in entry["heatmap_html"]


def test_heatmap_of_an_empty_layer() -> None:
    assert "no techniques" in navigator_svg_or_html({"name": "x", "techniques": []})
