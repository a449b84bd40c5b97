"""`stormwatch scan`: findings and a verdict for every input event (a public output contract)."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stormwatch.cli import _judge
from stormwatch.errors import StormwatchError
from stormwatch.models import Event, Verdict

if TYPE_CHECKING:
    from stormwatch.ingest import BadRecordLog, IngestReport

BATCH = 256


class InputFormat(StrEnum):
    """Input formats of `scan`."""

    auto = "auto"
    jsonl = "jsonl"
    openai = "openai"
    csv = "csv"
    parquet = "parquet"


class OutputFormat(StrEnum):
    """Output formats of `scan`."""

    jsonl = "jsonl"
    json = "json"
    table = "table"


def _verdict_table(verdicts: list[Verdict]) -> Table:
    table = Table(title="Stormwatch scan", show_lines=False)
    for col in ("id", "verdict", "risk", "categories", "tactics", "techniques", "top reason"):
        table.add_column(col, overflow="fold")
    style = {"allow": "green", "flag": "yellow", "block": "bold red"}
    for v in verdicts:
        table.add_row(
            v.id,
            f"[{style[v.verdict]}]{v.verdict}[/]",
            f"{v.risk:.2f}",
            ", ".join(v.categories[:3]),
            ", ".join(v.tactics[:3]),
            ", ".join(v.techniques[:4]),
            # reasons can carry model text (a judge's rationale): shown literally, never as rich markup
            escape(v.reasons[0]) if v.reasons else "",
        )
    return table


def scan_cmd(
    input: str | None = typer.Argument(
        None, help="Input file (JSONL, OpenAI logs, CSV, Parquet; .gz/.zst) or '-'."
    ),
    text: str | None = typer.Option(
        None, "--text", help="Scan this text as one user turn instead of a file."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write results here (default: stdout)."),
    fmt: OutputFormat = typer.Option(OutputFormat.jsonl, "--format", help="jsonl, json or table."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="Input format."),
    mapping: str | None = typer.Option(
        None, "--map", help="Column mapping, e.g. 'prompt=question,account_id=user'."
    ),
    fast: bool = typer.Option(False, "--fast", help="Rules and fast stages only (no learned stage 2)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad record."),
    policy: Path | None = typer.Option(None, "--policy", help="Verdict policy YAML (default: packaged)."),
    indicators: Path | None = typer.Option(
        None, "--indicators", help="Partner prompt-indicator file to match."
    ),
    errors_file: Path | None = typer.Option(
        None, "--errors", help="Write every bad record (line, field, reason, first bytes) here as JSONL."
    ),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="No summary or progress on stderr (damaged inputs are still reported)."
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
    """Scan LLM interactions: findings mapped to ATT&CK / ATLAS and a verdict per event."""
    from stormwatch.engine import Engine
    from stormwatch.ingest import BadRecordLog, IngestReport, no_event_hints, parse_mapping, read_events
    from stormwatch.verdict import Policy

    err = Console(stderr=True, soft_wrap=True)
    if (input is None) == (text is None):
        err.print("[red]error:[/] give an INPUT file (or '-') or --text, not both")
        raise typer.Exit(2)
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
    try:
        pol = Policy.load(policy)
        judge = None
        if judge_cfg is not None:
            from stormwatch.detectors.judge import Judge

            judge = Judge(judge_cfg)
        engine = Engine.default(fast=fast, policy=pol, judge=judge)
        if indicators is not None:
            from stormwatch.detectors.indicators import IndicatorDetector

            engine = engine.with_detectors([IndicatorDetector.from_file(indicators)])
    except StormwatchError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    if output is not None and not output.parent.is_dir():
        err.print(f"[red]error:[/] -o {output}: folder {output.parent} does not exist")
        raise typer.Exit(2)
    bad_log: BadRecordLog | None = None
    if errors_file is not None:
        try:
            bad_log = BadRecordLog(errors_file)
        except OSError as exc:
            err.print(f"[red]error:[/] --errors {errors_file}: {exc.strerror or exc}")
            raise typer.Exit(2) from exc
    report = IngestReport(on_bad=bad_log)
    events: Iterable[Event]
    if text is not None:
        events = [Event.from_text(text)]
    else:
        assert input is not None
        try:
            events = read_events(
                input,
                format=input_format.value,  # type: ignore[arg-type]
                mapping=parse_mapping(mapping) if mapping else None,
                strict=strict,
                report=report,
            )
        except StormwatchError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from exc

    counts: Counter[str] = Counter()
    collected: list[Verdict] = []
    n = 0
    t0 = time.perf_counter()
    with ExitStack() as stack:
        if bad_log is not None:
            stack.callback(bad_log.close)
        if engine.judge is not None:
            stack.callback(engine.judge.close)
        # the output file is created at the first write: a run that fails before any result leaves none
        out: IO[str] = sys.stdout
        if output is not None:
            lazy = _LazyFile(output)
            stack.callback(lazy.close)
            out = cast("IO[str]", lazy)
        show_progress = not quiet and err.is_terminal
        progress = Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not show_progress,
        )
        stack.enter_context(progress)
        task = progress.add_task("scan", total=None)
        failure: StormwatchError | None = None
        for batch, problem in _batches(events, BATCH):
            failure = problem
            # a batch read before a failure (--strict) is still scanned and written: nothing read is lost
            verdicts = engine.scan_batch(batch) if batch else []
            for v in verdicts:
                counts[v.verdict] += 1
                if fmt is OutputFormat.jsonl:
                    out.write(orjson.dumps(v.contract()).decode("utf-8") + "\n")
                else:
                    collected.append(v)
            n += len(batch)
            progress.update(task, completed=n)
        if failure is not None:
            out.flush()
            if not quiet:
                _summary(err, n, counts, report, time.perf_counter() - t0, bad_log)
            err.print(f"[red]error:[/] {failure}", highlight=False)
            raise typer.Exit(2) from failure
        if n == 0:
            # success on nothing is a failure: say what the input looks like and what to run instead
            if not quiet:
                _summary(err, n, counts, report, time.perf_counter() - t0, bad_log)
            for d in report.damaged:
                err.print(f"error: damaged input: {d}", markup=False, highlight=False, soft_wrap=True)
            for hint in no_event_hints(report, mapped=bool(mapping)):
                err.print(f"hint: {hint}", markup=False, highlight=False, soft_wrap=True)
            err.print(f"error: no events read from {input}; nothing scanned", markup=False, highlight=False)
            raise typer.Exit(1)
        if fmt is OutputFormat.json:
            json.dump([v.contract() for v in collected], out, ensure_ascii=False, indent=2)
            out.write("\n")
        elif fmt is OutputFormat.table:
            Console(file=out, width=200 if output is not None else None).print(_verdict_table(collected))
    elapsed = time.perf_counter() - t0
    if not quiet:
        _summary(err, n, counts, report, elapsed, bad_log)
        if n:
            per = ", ".join(
                f"{name} {st.seconds / n * 1000:.2f}" + (f" ({st.errors} errors)" if st.errors else "")
                for name, st in sorted(engine.stats.detectors.items())
            )
            err.print(f"ms/event by detector: {per}", highlight=False)
        if engine.judge is not None:
            err.print(_judge.judge_summary(engine.judge.stats), markup=False, highlight=False, soft_wrap=True)
    if report.damaged:
        # the output holds what was read before the damage; the exit status must not say "all read"
        for d in report.damaged:
            err.print(
                f"error: damaged input, not read to the end: {d}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        raise typer.Exit(1)


class _LazyFile:
    """A text file opened for writing at its first write (so a run that writes nothing creates nothing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def write(self, text: str) -> int:
        if self._fh is None:
            self._fh = self.path.open("w", encoding="utf-8")
        return self._fh.write(text)

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def _batches(events: Iterable[Event], size: int) -> Iterator[tuple[list[Event], StormwatchError | None]]:
    """Batches of events; a reader failure ends the run with the events read before it as a last batch."""
    batch: list[Event] = []
    it = iter(events)
    while True:
        try:
            event = next(it)
        except StopIteration:
            break
        except StormwatchError as exc:
            yield batch, exc
            return
        batch.append(event)
        if len(batch) >= size:
            yield batch, None
            batch = []
    if batch:
        yield batch, None


def _summary(
    err: Console,
    n: int,
    counts: Counter[str],
    report: IngestReport,
    elapsed: float,
    bad_log: BadRecordLog | None,
) -> None:
    rate = n / elapsed if elapsed > 0 else 0.0
    err.print(
        f"[bold]{n}[/] events: [green]{counts['allow']} allow[/], [yellow]{counts['flag']} flag[/], "
        f"[red]{counts['block']} block[/]; {rate:,.0f} events/s"
    )
    print_bad_records(err, report, bad_log)


def print_bad_records(con: Console, report: IngestReport, bad_log: BadRecordLog | None) -> None:
    """The bad-record summary line, the first five bad records, and how many more (shared with `hunt`)."""
    con.print(bad_records_line(report, bad_log), markup=False, highlight=False, soft_wrap=True)
    shown = [e for e in report.errors if e not in report.damaged][:5]
    for e in shown:
        con.print(f"  bad record: {e}", markup=False, highlight=False, soft_wrap=True)
    if bad_log is None and report.bad_records > len(shown) + len(report.damaged):
        more = report.bad_records - len(shown) - len(report.damaged)
        con.print(
            f"  ({more} more not shown; --errors FILE writes them all)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def bad_records_line(report: IngestReport, bad_log: BadRecordLog | None) -> str:
    """`N bad records skipped (kind: n, ...)` and where they were written: the line scan and hunt print."""
    ranked = sorted(report.by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
    kinds = " (" + ", ".join(f"{k}: {c}" for k, c in ranked) + ")" if ranked else ""
    where = f"; all written to {bad_log.path}" if bad_log is not None else ""
    return f"{report.bad_records} bad records skipped{kinds}{where}"
