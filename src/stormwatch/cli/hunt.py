"""`stormwatch hunt`: scan logged traffic into the store, then link, cluster and attribute accounts."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from stormwatch.cli import _judge
from stormwatch.errors import StormwatchError

if TYPE_CHECKING:
    from stormwatch.ingest import IngestReport


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=name) from exc


def wrapping(table: Table) -> Table:
    """The table with every column folding long values onto more lines instead of cutting them with '…'."""
    for column in table.columns:
        column.overflow = "fold"
        column.no_wrap = False
    return table


def _nothing_to_hunt(paths: list[Path], report: IngestReport, stored: int, store: Path) -> str | None:
    """Why this hunt has nothing to report (an error line), or None when it does."""
    if paths and report.events == 0:
        return f"no events read from {', '.join(str(p) for p in paths)}; nothing hunted"
    if stored == 0:
        return f"the store {store} holds no events; give event files to hunt"
    return None


def _drop_new_store(store: Path, created: bool) -> None:
    """Remove the DuckDB file (and its WAL) that this failed run created; an existing store is kept."""
    if not created:
        return
    for p in (store, store.with_name(store.name + ".wal")):
        p.unlink(missing_ok=True)


def hunt_cmd(
    inputs: list[Path] | None = typer.Argument(
        None,
        help="Event files (JSONL, OpenAI logs, CSV, Parquet; .gz/.zst); none: hunt what --store already holds.",
    ),
    store: Path = typer.Option(
        Path("stormwatch.duckdb"), "--store", help="DuckDB store (created if missing)."
    ),
    out: Path = typer.Option(Path("hunt-out"), "--out", help="Folder for clusters.json, accounts.jsonl, ..."),
    since: str | None = typer.Option(None, "--since", help="Only analyse events at or after this time."),
    until: str | None = typer.Option(None, "--until", help="Only analyse events before this time."),
    fast: bool = typer.Option(True, "--fast/--full", help="Fast path (no learned detectors) or full."),
    workers: int = typer.Option(
        min(2, os.cpu_count() or 1), "--workers", min=1, max=64, help="Scan processes."
    ),
    errors_file: Path | None = typer.Option(
        None, "--errors", help="Write every bad record (line, field, reason, first bytes) here as JSONL."
    ),
    judge_url: str | None = _judge.URL,
    judge_model: str | None = _judge.MODEL,
    judge_key_env: str = _judge.KEY_ENV_OPT,
    judge_policy: Path | None = _judge.POLICY,
    judge_band_low: float = _judge.BAND_LOW,
    judge_band_high: float = _judge.BAND_HIGH,
    judge_rpm: int = _judge.RPM,
    judge_timeout: float = _judge.TIMEOUT,
    judge_style: str = _judge.STYLE,
    judge_format: str = _judge.FORMAT,
) -> None:
    """Hunt: scan INPUT files into the store (idempotent by event id), then cluster and attribute accounts.

    Without INPUT files the hunt analyses the events the store already holds (e.g. the guard's store).
    """
    from stormwatch.cli.scan import print_bad_records
    from stormwatch.export import report_links
    from stormwatch.hunt.demo import summary_table
    from stormwatch.hunt.pipeline import run_hunt, write_outputs
    from stormwatch.ingest import BadRecordLog, IngestReport, no_event_hints
    from stormwatch.store import open_store

    con = Console(stderr=True, soft_wrap=True)
    paths = list(inputs or [])
    if not paths and not store.exists():
        con.print(f"[red]error:[/] no input files and no store at {store}: give event files to hunt")
        raise typer.Exit(2)
    new_store = not store.exists()
    t_since, t_until = _when(since, "--since"), _when(until, "--until")
    judge_cfg = _judge.judge_config(
        url=judge_url,
        model=judge_model,
        key_env=judge_key_env,
        policy=judge_policy,
        band_low=judge_band_low,
        band_high=judge_band_high,
        rpm=judge_rpm,
        timeout=judge_timeout,
        style=judge_style,
        response_format=judge_format,
    )
    judge = None
    bad_log: BadRecordLog | None = None
    try:
        if errors_file is not None:
            bad_log = BadRecordLog(errors_file)
        if judge_cfg is not None:
            from stormwatch.detectors.judge import Judge

            judge = Judge(judge_cfg)
        st = open_store(store)
    except OSError as exc:
        con.print(f"[red]error:[/] --errors {errors_file}: {exc.strerror or exc}")
        raise typer.Exit(2) from exc
    except StormwatchError as exc:
        con.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    report = IngestReport(on_bad=bad_log)
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} events"),
            TimeElapsedColumn(), console=con, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task("scanning", total=None)
            result = run_hunt(
                [str(p) for p in paths], store=st, out_dir=None, since=t_since, until=t_until, fast=fast,
                workers=workers, progress=lambda n: progress.advance(task, n), judge=judge, report=report,
            )  # fmt: skip
        nothing = _nothing_to_hunt(paths, report, result.stats["stored_events"], store)
        if nothing is None:
            write_outputs(result, st, out, exporter=report_links)
    except StormwatchError as exc:
        st.close()
        _drop_new_store(store, new_store)
        con.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    finally:
        st.close()
        if judge is not None:
            judge.close()
        if bad_log is not None:
            bad_log.close()
    if nothing is not None:
        # success on nothing is a failure: no outputs, and no store file this run created
        _drop_new_store(store, new_store)
        print_bad_records(con, report, bad_log)
        for d in report.damaged:
            con.print(f"error: damaged input: {d}", markup=False, highlight=False, soft_wrap=True)
        for hint in no_event_hints(report):
            con.print(f"hint: {hint}", markup=False, highlight=False, soft_wrap=True)
        con.print(f"error: {nothing}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    s = result.stats
    what = f"scanned {s['scanned']:,} events" if paths else f"no input files: hunted the store {store}"
    con.print(
        f"{what}; store holds {s['stored_events']:,}; "
        f"{s['suspicious_accounts']} suspicious accounts, {len(result.clusters)} clusters"
    )
    print_bad_records(con, report, bad_log)
    if judge is not None:
        con.print(_judge.judge_summary(judge.stats), markup=False, highlight=False, soft_wrap=True)
    Console().print(wrapping(summary_table(result)))
    con.print(f"report: {out / 'report.html'}")
    if report.damaged:
        # the hunt ran on what could be read; the exit status must not say every input was read
        for d in report.damaged:
            con.print(
                f"error: damaged input, not read to the end: {d}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        raise typer.Exit(1)
