"""Hints for an input that gave no events: what it looks like and what to run instead (text, no printing).

The readers do not change how they parse: these hints only read what an `IngestReport` already holds (the
CSV header, the first bad records and their first bytes) after a run that produced nothing.
"""

from __future__ import annotations

from pathlib import PurePath

from stormwatch.ingest._report import BadRecord, IngestReport

#: Column names that usually hold the prompt text, most telling first (matched as substrings).
_PROMPTISH = (
    "prompt",
    "question",
    "query",
    "instruction",
    "message",
    "content",
    "input",
    "text",
    "body",
    "request",
    "utterance",
)


def _guess_prompt_column(columns: list[str]) -> str:
    lower = [c.lower() for c in columns]
    for want in _PROMPTISH:
        for col, low in zip(columns, lower, strict=True):
            if want in low:
                return col
    return columns[0] if columns else "COLUMN"


def _quote(column: str) -> str:
    return column if column.replace("_", "").replace("-", "").isalnum() else f"'{column}'"


def _jsonl_name(source: str) -> str:
    path = PurePath(source)
    return str(path.with_suffix(".jsonl")) if path.suffix.lower() != ".jsonl" else f"{path}.jsonl"


def _source_hint(source: str, columns: list[str] | None, errs: list[BadRecord], mapped: bool) -> str | None:
    kinds = {e.kind for e in errs}
    if columns is not None:
        shown = ", ".join(columns[:20]) + (f", ... ({len(columns)} in all)" if len(columns) > 20 else "")
        if not errs:
            return f"{source}: a header ({shown}) but no rows"
        if "missing-text" in kinds:
            example = f"--map prompt={_quote(_guess_prompt_column(columns))}"
            if mapped:
                return f"{source}: columns are {shown}; the mapped prompt column is empty in every row"
            return (
                f"{source}: a table with columns {shown}; no column is a known prompt field: say which "
                f"holds the prompt text, e.g. {example}"
            )
        return None
    if not errs:
        return None
    first = errs[0]
    head = (first.head or "").lstrip()
    if first.line == 1 and (
        (first.kind == "not-an-object" and head.startswith("["))
        or (first.kind == "broken-json" and head == "[")
    ):
        return (
            f"{source}: this looks like a JSON array; scan reads JSON Lines (one object per line): "
            f"convert it with  jq -c '.[]' {source} > {_jsonl_name(source)}  and scan that"
        )
    if first.line == 1 and first.kind == "broken-json" and head.startswith("{") and len(head) <= 2:
        return (
            f"{source}: this looks like pretty-printed JSON; scan reads JSON Lines (one object per line): "
            f"convert it with  jq -c . {source} > {_jsonl_name(source)}"
        )
    if first.kind in ("broken-json", "bad-utf8") and not head.startswith(("{", "[")):
        return (
            f"{source}: this looks like plain text, not JSON Lines; scan one text with --text '...', or "
            'write one JSON object per line, e.g. {"prompt": "..."} (CSV needs a .csv name or '
            "--input-format csv)"
        )
    if kinds == {"missing-text"}:
        return (
            f"{source}: no record has prompt text (prompt, text, input or messages); name the field that "
            "holds it with --map, e.g. --map prompt=question"
        )
    return None


def no_event_hints(report: IngestReport, *, mapped: bool = False) -> list[str]:
    """One line per source saying why it gave no events and what to do; a general line when nothing was read.

    Only meaningful when `report.events == 0`; returns an empty list otherwise.
    """
    if report.events:
        return []
    if report.lines == 0:
        return ["the input holds no records (empty file)"] if report.sources else []
    if report.lines == report.blank_lines:
        return ["the input holds only blank lines"]
    hints = []
    for source in report.sources:
        errs = [e for e in report.errors if e.source == source]
        hint = _source_hint(source, report.columns.get(source), errs, mapped)
        if hint is not None:
            hints.append(hint)
    return hints
