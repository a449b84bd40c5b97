"""`stormwatch eval`: quality metrics for a labelled JSONL file, as Markdown plus PNG plots."""

from __future__ import annotations

from pathlib import Path

import typer

from stormwatch.errors import InputRecordError, StormwatchError

LABELS_HINT = (
    'eval needs a labelled file: each line a scan input plus "labels": {"malicious": true or false, '
    '"category": ...}; to score unlabelled traffic use `stormwatch scan`'
)


def _check_input(path: Path) -> str | None:
    """Why `path` cannot be evaluated (missing, unreadable, no records), or None; reads up to one record."""
    try:
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    return None
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    return f"{path}: no records (empty file); {LABELS_HINT}"


def eval_cmd(
    labelled: Path = typer.Argument(..., help="JSONL: one scan input event per line plus a `labels` object."),
    mode: str = typer.Option(
        "auto", "--mode", help="auto (engine if present), engine, engine-fast, cascade, fast."
    ),
    output: Path = typer.Option(Path("quality-report.md"), "-o", "--output", help="Markdown report path."),
) -> None:
    """Precision, recall, F1, TPR at 1%/5% FPR, ROC AUC, ECE, per category/language, tactic confusion."""
    from stormwatch.eval.report import run

    problem = _check_input(labelled)
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    if mode == "auto":
        try:
            import stormwatch.engine  # noqa: F401

            mode = "engine"
        except ImportError:
            mode = "cascade"
    try:
        rep = run(labelled, mode, output, output.parent)
    except InputRecordError as exc:
        hint = f"; {LABELS_HINT}" if exc.field == "labels" else ""
        typer.echo(f"error: {exc}{hint}", err=True)
        raise typer.Exit(2) from exc
    except StormwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    o = rep.overall
    typer.echo(
        f"{mode}: n={o.n} P={o.precision:.3f} R={o.recall:.3f} F1={o.f1:.3f} AUC={o.auc:.3f} "
        f"TPR@1%={o.tpr_at_1fpr:.3f} TPR@5%={o.tpr_at_5fpr:.3f} ECE={o.ece:.3f} -> {output}"
    )
