"""`stormwatch hunt`: scan logged traffic into the store, then link, cluster and attribute accounts."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stormwatch.cli import _judge
from stormwatch.errors import StormwatchError


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=name) from exc


def hunt_cmd(
    inputs: list[Path] = typer.Argument(
        ..., help="Event files (JSONL, OpenAI logs, CSV, Parquet; .gz/.zst)."
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
    """Hunt: scan INPUT files into the store (idempotent by event id), then cluster and attribute accounts."""
    from stormwatch.cli.scan import print_bad_records
    from stormwatch.export import report_links
    from stormwatch.hunt.demo import summary_table
    from stormwatch.hunt.pipeline import run_hunt
    from stormwatch.ingest import BadRecordLog, IngestReport
    from stormwatch.store import open_store

    con = Console(stderr=True)
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
                [str(p) for p in inputs], store=st, out_dir=out, since=t_since, until=t_until, fast=fast,
                workers=workers, progress=lambda n: progress.advance(task, n), judge=judge, report=report,
                exporter=report_links,
            )  # fmt: skip
    except StormwatchError as exc:
        con.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    finally:
        st.close()
        if judge is not None:
            judge.close()
        if bad_log is not None:
            bad_log.close()
    s = result.stats
    con.print(
        f"scanned {s['scanned']:,} events; store holds {s['stored_events']:,}; "
        f"{s['suspicious_accounts']} suspicious accounts, {len(result.clusters)} clusters"
    )
    print_bad_records(con, report, bad_log)
    if judge is not None:
        con.print(_judge.judge_summary(judge.stats), markup=False, highlight=False, soft_wrap=True)
    Console().print(summary_table(result))
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
