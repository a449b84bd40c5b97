"""`make demo`'s hunt part: simulate a realistic data set, hunt it, print a summary and the report path."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from stormwatch.hunt.pipeline import HuntResult, run_hunt
from stormwatch.simulate import SimConfig, write_simulation
from stormwatch.store import open_store

MIN_EVENTS = 50_000  # `make demo` promises at least this many events


def summary_table(result: HuntResult) -> Table:
    """A rich table with one row per cluster: designation, size, top categories, best candidate actor."""
    table = Table(title="Activity clusters")
    for col in ("cluster", "accounts", "events", "top categories", "attribution", "score"):
        table.add_column(col)
    for c in result.clusters:
        top = ", ".join(list(c.categories)[:2])
        best = c.attribution[0] if c.attribution else None
        table.add_row(
            c.designation,
            str(len(c.accounts)),
            str(c.events),
            top,
            best.actor if best else "[dim]unattributed[/]",
            f"{best.score:.2f}" if best else "",
        )
    return table


def run_demo(
    out_dir: Path,
    *,
    accounts: int = 600,
    days: int = 30,
    seed: int = 7,
    console: Console | None = None,
    min_events: int = MIN_EVENTS,
    workers: int | None = None,
) -> HuntResult:
    """Simulate ≥ `min_events` events over several hundred accounts, hunt them, print the summary."""
    from stormwatch.export import report_links  # TODO(issue 11): the demo moves to jobs/, above both

    con = console or Console()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    events_path, truth_path = out_dir / "events.jsonl", out_dir / "truth.json"
    t0 = time.perf_counter()
    rate = SimConfig.rate
    n = 0
    for _ in range(4):  # raise the activity rate until the data set is big enough (deterministic)
        n = write_simulation(
            SimConfig(accounts=accounts, days=days, seed=seed, rate=rate), events_path, truth_path
        )
        if n >= min_events:
            break
        rate *= 1.05 * min_events / max(1, n)
    con.print(
        f"simulated {n:,} events from {accounts} accounts over {days} days in {time.perf_counter() - t0:.1f}s"
    )
    store_path = out_dir / "stormwatch.duckdb"
    store = open_store(store_path)
    try:
        t1 = time.perf_counter()
        with con.status("hunting: scan → store → link → cluster → attribute"):
            result = run_hunt(
                [events_path], store=store, out_dir=out_dir, workers=workers or min(4, os.cpu_count() or 1),
                exporter=report_links,
            )  # fmt: skip
        con.print(
            f"hunted in {time.perf_counter() - t1:.1f}s ({result.stats.get('suspicious_accounts')} accounts analysed)"
        )
    finally:
        store.close()
    con.print(summary_table(result))
    con.print(
        f"report: [bold]{out_dir / 'report.html'}[/]  (clusters.json, accounts.jsonl, findings.parquet and "
        "exports/ beside it)"
    )
    return result
