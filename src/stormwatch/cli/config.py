"""`stormwatch config show`: the effective configuration, secrets masked, and where each value came from."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path

import typer
import yaml
from rich.console import Console

config_app = typer.Typer(
    name="config",
    help="Inspect Stormwatch's configuration (flags > STORMWATCH_* environment > config file > defaults).",
    no_args_is_help=True,
)


class ShowFormat(StrEnum):
    json = "json"
    yaml = "yaml"


@config_app.command("show")
def show_cmd(
    config: Path | None = typer.Option(
        None, "--config", help="Config file (TOML or YAML) to read below the environment."
    ),
    fmt: ShowFormat = typer.Option(ShowFormat.json, "--format", help="Output format."),
) -> None:
    """Print the effective config: `{field: {value, source}}`, every secret as `**********`."""
    from stormwatch.config import load_config
    from stormwatch.errors import StormwatchError

    try:
        effective = load_config(config, environ=os.environ)
    except StormwatchError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    report = effective.report()
    if fmt is ShowFormat.yaml:
        typer.echo(yaml.safe_dump(report, sort_keys=False, allow_unicode=True), nl=False)
    else:
        typer.echo(json.dumps(report, indent=2))
