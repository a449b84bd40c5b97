"""`stormwatch train`: rebuild every shipped learned model from the shared data sets and a seed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import typer

from stormwatch._paths import datasets_dir
from stormwatch.errors import StormwatchError


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
    from stormwatch.detectors.learned._model import MODEL_DIR
    from stormwatch.train.pipeline import SHIPPED_LANG_DIRS

    data = datasets_dir(os.environ)
    if not data.is_dir():
        _fail(
            f"no shared data sets at {data}: put the shared folder beside the repository (../shared/datasets) "
            "or point STORMWATCH_SHARED at the folder that holds datasets/"
        )
    try:
        summary = _train(
            data,
            seed,
            out or MODEL_DIR,
            no_embed,
            cache,
            per_source,
            use_per_source,
            lang_dirs,
            SHIPPED_LANG_DIRS,
        )
    except FileNotFoundError as exc:
        _fail(
            f"a shared data file is missing: {exc.filename or exc}; the shared data sets at {data} are "
            "incomplete (see datasets/INDEX.md there for what train reads)"
        )
    except StormwatchError as exc:
        _fail(str(exc))
    typer.echo(f"trained: train={summary['train']} calib={summary['calib']} in {summary['seconds']}s")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _train(
    data: Path,
    seed: int,
    out: Path,
    no_embed: bool,
    cache: Path,
    per_source: int,
    use_per_source: int,
    lang_dirs: int,
    shipped_lang_dirs: int,
) -> dict[str, Any]:
    from stormwatch.train.pipeline import train_all

    return train_all(
        data,
        seed=seed,
        out_dir=out,
        embed=not no_embed,
        cache_path=cache,
        per_source=per_source,
        use_per_source=use_per_source,
        log=lambda m: typer.echo(m, err=True),
        lang_dirs=shipped_lang_dirs if lang_dirs < 0 else lang_dirs,
    )
