"""What a hunt returns (`HuntResult`) and the exporter it may be given; read by the pipeline and the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stormwatch.hunt.analytics import AccountProfile
from stormwatch.models import Cluster, Link
from stormwatch.store.base import Store
from stormwatch.store.schema import EventRow

__all__ = ["ClusterExporter", "HuntResult"]


class ClusterExporter(Protocol):
    """Writes each cluster's sharing files under `out_dir/exports/` and returns the report's links to them
    by cluster id (`stormwatch.export.report_links` is one)."""

    def __call__(
        self, out_dir: Path, clusters: Sequence[Cluster], /, *, store: Store | None = None
    ) -> dict[str, dict[str, Any]]: ...


@dataclass
class HuntResult:
    """What a hunt found, plus run statistics."""

    clusters: list[Cluster]
    accounts: dict[str, AccountProfile]
    links: list[Link]
    stats: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, list[EventRow]] = field(default_factory=dict)
    designations: dict[str, str] = field(default_factory=dict)
    """Account id → cluster designation; the analysis only returns it, `run_hunt` saves it in the store."""
