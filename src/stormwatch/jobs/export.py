"""The export job: a hunt's clusters (hunt directory and/or store) to one sharing format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from stormwatch.errors import StormwatchError
from stormwatch.export import EXPORTERS, ExportError, ExportOptions, open_inputs
from stormwatch.models import Cluster
from stormwatch.store import Store

__all__ = ["Reanalyse", "export_job"]

Reanalyse = Callable[[Store], Sequence[Cluster]]


def export_job(
    fmt: str,
    output: Path,
    options: ExportOptions,
    *,
    hunt_dir: Path | None = None,
    store_path: Path | None = None,
    cluster_ids: Sequence[str] | None = None,
    reanalyse: Reanalyse | None = None,
    outputs: Sequence[Path] = (),
) -> tuple[int, list[Path]]:
    """Write `fmt` for the selected clusters; returns (clusters exported, files written).

    `outputs` names every file this export may create (navigator writes a second layer beside `output`):
    on failure those that did not exist before are removed, so a failed export leaves nothing partial.
    Raises `ExportError` when there are no clusters to export.
    """
    if fmt not in EXPORTERS:
        raise ExportError(f"unknown export format {fmt!r}; known: {', '.join(sorted(EXPORTERS))}")
    candidates = list(outputs) or [output]
    existed = {p for p in candidates if p.exists()}
    try:
        data = open_inputs(
            hunt_dir=hunt_dir,
            store_path=store_path,
            cluster_ids=cluster_ids or None,
            producer=options.org_name,
            reanalyse=reanalyse,
        )
        if not data.clusters:
            raise ExportError("no clusters to export (the hunt found none): nothing written")
        written = EXPORTERS[fmt](data, options, output)
    except StormwatchError:
        for p in candidates:
            if p not in existed:
                p.unlink(missing_ok=True)
        raise
    return len(data.clusters), list(written)
