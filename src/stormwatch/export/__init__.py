"""Share what the hunt finds: STIX 2.1, ATT&CK Navigator layers, MISP events and prompt indicators."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stormwatch.export._common import ExportError, ExportOptions
from stormwatch.export._data import ClusterData, ExportData, gather, load_clusters, open_inputs
from stormwatch.export._report import navigator_svg_or_html, report_links
from stormwatch.export.indicators import export_indicators
from stormwatch.export.misp import export_misp
from stormwatch.export.navigator import export_navigator
from stormwatch.export.stix import export_stix

Exporter = Callable[[ExportData, ExportOptions, Path], list[Path]]

# One function per format behind `stormwatch export FORMAT`; each returns the files it wrote.
EXPORTERS: dict[str, Exporter] = {
    "stix": export_stix,
    "navigator": export_navigator,
    "misp": export_misp,
    "indicators": export_indicators,
}

__all__ = [
    "EXPORTERS",
    "ClusterData",
    "ExportData",
    "ExportError",
    "ExportOptions",
    "Exporter",
    "gather",
    "load_clusters",
    "navigator_svg_or_html",
    "open_inputs",
    "report_links",
]
