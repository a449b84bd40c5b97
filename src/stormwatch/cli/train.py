"""`stormwatch train`: rebuild every shipped learned model from the shared data sets and a seed."""

from __future__ import annotations

from pathlib import Path

import typer

from stormwatch._paths import datasets_dir


def train_cmd(
    seed: int = typer.Option(0, "--seed", help="Random seed (the shipped models use 0)."),
    out: Path | None = typer.Option(
        None, "--out", help="Model folder (default: the packaged models folder)."
    ),
    no_embed: bool = typer.Option(False, "--no-embed", help="Stage 1 only (skip the embedding model)."),
    cache: Path = typer.Option(Path("/tmp/stormwatch-embcache.npz"), "--cache", help="Embedding cache file."),
    per_source: int = typer.Option(60, "--per-source", help="e5-route rows embedded per external source."),
    use_per_source: int = typer.Option(
        1500, "--use-per-source", help="USE-route rows embedded per external source."
    ),
    lang_dirs: int = typer.Option(
        -1, "--lang-dirs", help="Language directions projected out of stage 2 (-1: the shipped default)."
    ),
) -> None:
    """Rebuild the learned detectors' model files (reads ../shared/datasets)."""
    from stormwatch.detectors.learned._model import MODEL_DIR, Models
    from stormwatch.train.pipeline import SHIPPED_LANG_DIRS, train_all

    summary = train_all(
        datasets_dir(),
        seed=seed,
        out_dir=out or MODEL_DIR,
        embed=not no_embed,
        cache_path=cache,
        per_source=per_source,
        use_per_source=use_per_source,
        log=lambda m: typer.echo(m, err=True),
        lang_dirs=SHIPPED_LANG_DIRS if lang_dirs < 0 else lang_dirs,
    )
    Models.reset()
    typer.echo(f"trained: train={summary['train']} calib={summary['calib']} in {summary['seconds']}s")
