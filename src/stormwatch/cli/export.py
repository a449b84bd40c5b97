"""`stormwatch export FORMAT`: share the hunt's clusters as STIX 2.1, Navigator layers, MISP or indicators."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from stormwatch.errors import StormwatchError

if TYPE_CHECKING:
    from stormwatch.models import Cluster
    from stormwatch.store import Store


class ExportFormat(StrEnum):
    """Formats of `stormwatch export`."""

    stix = "stix"
    navigator = "navigator"
    misp = "misp"
    indicators = "indicators"


def _reanalyse(store: Store) -> list[Cluster]:
    from stormwatch.hunt import analyse

    return analyse(store).clusters


def _outputs(fmt: ExportFormat, output: Path) -> list[Path]:
    """The files an export to `output` writes (navigator adds the ATLAS layer beside it)."""
    if fmt is ExportFormat.navigator:
        from stormwatch.export.navigator import layer_paths

        return list(layer_paths(output).values())
    return [output]


def export_cmd(
    fmt: ExportFormat = typer.Argument(..., metavar="FORMAT", help="stix, navigator, misp or indicators."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="File to write (navigator also writes <stem>.atlas.json)."
    ),
    cluster: list[str] | None = typer.Option(
        None, "--cluster", help="Cluster id or designation (repeatable)."
    ),
    all_clusters: bool = typer.Option(False, "--all", help="Every cluster (the default without --cluster)."),
    hunt_dir: Path | None = typer.Option(
        None, "--hunt-dir", help="The hunt's --out directory (clusters.json)."
    ),
    store: Path | None = typer.Option(None, "--store", help="DuckDB store: prompts and infrastructure."),
    reanalyse: bool = typer.Option(
        False, "--reanalyse", help="With --store and no --hunt-dir: run the analysis again (writes nothing)."
    ),
    tlp: str = typer.Option("amber", "--tlp", help="clear, green, amber, amber+strict or red."),
    org_name: str = typer.Option("Stormwatch", "--org-name", help="Producing organisation (STIX identity)."),
    created: datetime | None = typer.Option(
        None,
        "--created",
        help="Clock of the export (ISO 8601); default: the latest last_seen.",
        formats=["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
    ),
) -> None:
    """Export clusters from a hunt (--hunt-dir and/or --store) to a sharing format."""
    from pydantic import ValidationError

    from stormwatch.export import EXPORTERS, ExportError, ExportOptions, open_inputs

    err = Console(stderr=True, soft_wrap=True)
    if cluster and all_clusters:
        err.print("[red]error:[/] give --cluster or --all, not both")
        raise typer.Exit(2)
    try:
        options = ExportOptions(org_name=org_name, tlp=tlp, created=created)  # type: ignore[arg-type]
    except ValidationError as exc:
        err.print(f"[red]error:[/] {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from exc
    if fmt is ExportFormat.indicators and store is None:
        err.print(
            "[red]error:[/] indicators are built from the stored prompts: give --store (the hunt's event "
            "store, e.g. --store stormwatch.duckdb)"
        )
        raise typer.Exit(2)
    if not output.parent.is_dir():
        err.print(f"[red]error:[/] -o {output}: folder {output.parent} does not exist")
        raise typer.Exit(2)
    existed = {p for p in _outputs(fmt, output) if p.exists()}
    try:
        data = open_inputs(
            hunt_dir=hunt_dir, store_path=store, cluster_ids=cluster or None, producer=org_name,
            reanalyse=_reanalyse if reanalyse else None,
        )  # fmt: skip
        if not data.clusters:
            raise ExportError("no clusters to export (the hunt found none): nothing written")
        written = EXPORTERS[fmt.value](data, options, output)
    except StormwatchError as exc:
        # a failed export leaves no new (empty or partial) file behind; files that were there stay
        for p in _outputs(fmt, output):
            if p not in existed:
                p.unlink(missing_ok=True)
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    err.print(f"{fmt.value}: {len(data.clusters)} clusters → " + ", ".join(str(p) for p in written))
