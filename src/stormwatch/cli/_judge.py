"""The `--judge-*` options `scan`, `serve` and `hunt` share, and the `JudgeConfig` they build."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import SecretStr, ValidationError

if TYPE_CHECKING:
    from stormwatch.detectors.judge import JudgeConfig, JudgeStats

KEY_ENV = "STORMWATCH_JUDGE_API_KEY"
_PANEL = "Judge (optional; off unless --judge-url is given)"

URL = typer.Option(
    None,
    "--judge-url",
    help="OpenAI-compatible base URL of a safety model, e.g. http://127.0.0.1:11434/v1 (Ollama).",
    rich_help_panel=_PANEL,
)
MODEL = typer.Option(
    None, "--judge-model", help="Model name the judge endpoint serves.", rich_help_panel=_PANEL
)
KEY_ENV_OPT = typer.Option(
    KEY_ENV,
    "--judge-key-env",
    help="Environment variable holding the judge's API key.",
    rich_help_panel=_PANEL,
)
POLICY = typer.Option(
    None, "--judge-policy", help="Judge policy Markdown (default: packaged).", rich_help_panel=_PANEL
)
BAND_LOW = typer.Option(
    0.2,
    "--judge-band-low",
    min=0.001,
    max=0.999,
    help="Judge events with risk >= this...",
    rich_help_panel=_PANEL,
)
BAND_HIGH = typer.Option(
    0.8, "--judge-band-high", min=0.002, max=1.0, help="...and risk < this.", rich_help_panel=_PANEL
)
RPM = typer.Option(
    60,
    "--judge-rpm",
    min=1,
    help="Most judge calls per minute (over it: not judged).",
    rich_help_panel=_PANEL,
)
TIMEOUT = typer.Option(
    20.0, "--judge-timeout", min=0.1, help="Seconds per judge call.", rich_help_panel=_PANEL
)
STYLE = typer.Option(
    "policy",
    "--judge-style",
    help="policy (our policy, JSON answer) or conversation (Llama Guard / Qwen3Guard templates).",
    rich_help_panel=_PANEL,
)

FORMAT = typer.Option(
    "json_schema",
    "--judge-format",
    help="Structured output asked of the server: json_schema, json_object or none (if it rejects them).",
    rich_help_panel=_PANEL,
)


def judge_config(
    *,
    url: str | None,
    model: str | None,
    key_env: str,
    policy: Path | None,
    band_low: float,
    band_high: float,
    rpm: int,
    timeout: float,
    style: str,
    response_format: str,
) -> JudgeConfig | None:
    """The judge configuration from the options (None when no --judge-url); exits 2 on a bad combination."""
    from stormwatch.detectors.judge import JudgeConfig

    if url is None:
        return None
    if not model:
        raise typer.BadParameter("--judge-url needs --judge-model", param_hint="--judge-model")
    key = os.environ.get(key_env) if key_env else None
    values: dict[str, Any] = dict(
        base_url=url,
        model=model,
        api_key=SecretStr(key) if key else None,
        policy_path=policy,
        band_low=band_low,
        band_high=band_high,
        max_calls_per_minute=rpm,
        timeout_s=timeout,
        prompt_style=style,
        response_format=response_format,
    )
    try:
        return JudgeConfig(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "judge"
        raise typer.BadParameter(f"{where}: {first['msg']}", param_hint="--judge-*") from exc


def judge_summary(stats: JudgeStats) -> str:
    """One line for a run summary."""
    s = stats.as_dict()
    line = (
        f"judge: {s['in_band']} in band, {s['calls']} calls, {s['cache_hits']} cache hits; "
        f"{s['raised']} raised, {s['lowered']} lowered, {s['kept']} kept; {s['over_budget']} over budget, "
        f"{stats.errors()} errors"
    )
    return line + (f" (last: {stats.last_error})" if stats.last_error else "")
