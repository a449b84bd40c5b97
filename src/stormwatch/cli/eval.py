"""`stormwatch eval`: quality metrics for a labelled JSONL file, as Markdown plus PNG plots."""

from __future__ import annotations

from pathlib import Path

import typer


def eval_cmd(
    labelled: Path = typer.Argument(..., help="JSONL: one scan input event per line plus a `labels` object."),
    mode: str = typer.Option(
        "auto", "--mode", help="auto (engine if present), engine, engine-fast, cascade, fast."
    ),
    output: Path = typer.Option(Path("quality-report.md"), "-o", "--output", help="Markdown report path."),
) -> None:
    """Precision, recall, F1, TPR at 1%/5% FPR, ROC AUC, ECE, per category/language, tactic confusion."""
    from stormwatch.eval.report import run

    if mode == "auto":
        try:
            import stormwatch.engine  # noqa: F401

            mode = "engine"
        except ImportError:
            mode = "cascade"
    rep = run(labelled, mode, output, output.parent)
    o = rep.overall
    typer.echo(
        f"{mode}: n={o.n} P={o.precision:.3f} R={o.recall:.3f} F1={o.f1:.3f} AUC={o.auc:.3f} "
        f"TPR@1%={o.tpr_at_1fpr:.3f} TPR@5%={o.tpr_at_5fpr:.3f} ECE={o.ece:.3f} -> {output}"
    )
