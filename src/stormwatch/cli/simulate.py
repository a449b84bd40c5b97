"""`stormwatch simulate`: realistic LLM traffic with threat operations and a ground-truth file."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from stormwatch.simulate import SimConfig, write_simulation


def simulate_cmd(
    accounts: int = typer.Option(500, "--accounts", min=10, max=1_000_000, help="Number of accounts."),
    days: int = typer.Option(30, "--days", min=1, max=3650, help="Number of days."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same file."),
    output: Path = typer.Option(..., "-o", "--output", help="Events JSONL to write."),
    truth: Path | None = typer.Option(
        None, "--truth", help="Also write account → actor ground truth (JSON)."
    ),
    evasion: str = typer.Option(
        "normal", "--evasion", help="normal | heavy (more rotation, paraphrase, VPN)."
    ),
    landscape: bool = typer.Option(
        False,
        "--landscape",
        help="Add the 2025-26 operations (agentic intrusion, runtime malware, distillation farm, stolen key, "
        "account farm) and their benign look-alikes (coding and pentest agents, CI bot, heavy user, eval harness).",
    ),
) -> None:
    """Simulate benign users and threat operations (five known actors, a fraud ring, an unknown cluster)."""
    if evasion not in ("normal", "heavy"):
        raise typer.BadParameter("must be 'normal' or 'heavy'", param_hint="--evasion")
    t0 = time.perf_counter()
    cfg = SimConfig(accounts=accounts, days=days, seed=seed, evasion=evasion, landscape=landscape)  # type: ignore[arg-type]
    n = write_simulation(cfg, output, truth)
    typer.echo(f"wrote {n:,} events to {output} in {time.perf_counter() - t0:.1f}s", err=True)
