"""`stormwatch demo`: the README's first command — the main job on simulated data, end to end."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console


def demo_cmd(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Where the hunt writes its report and files."),
    accounts: int = typer.Option(600, "--accounts", help="Simulated accounts."),
    days: int = typer.Option(30, "--days", help="Simulated days."),
    seed: int = typer.Option(7, "--seed", help="Simulation seed."),
) -> None:
    """Knowledge-base look-ups, a few scans, then simulate → hunt → report."""
    from stormwatch.config import load_config
    from stormwatch.errors import StormwatchError
    from stormwatch.jobs.demo import run_demo
    from stormwatch.runtime import Runtime

    try:
        runtime = Runtime.from_config(load_config(environ=os.environ, flags={"fast": True}).config)
    except StormwatchError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    run_demo(runtime, out, accounts=accounts, days=days, seed=seed, console=Console())
