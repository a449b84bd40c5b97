"""`stormwatch serve`: the guard service (scan API + OpenAI-compatible screening proxy) under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from stormwatch.cli import _judge
from stormwatch.errors import StormwatchError

KEYS_ENV = "STORMWATCH_KEYS_FILE"


def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    upstream_url: str | None = typer.Option(
        None,
        "--upstream-url",
        help="OpenAI-compatible base URL, e.g. https://api.openai.com/v1 (its key comes "
        "only from $STORMWATCH_UPSTREAM_API_KEY).",
    ),
    keys_file: Path | None = typer.Option(
        None, "--keys-file", help=f"Hashed API keys (`stormwatch keys add`); default ${KEYS_ENV}."
    ),
    policy: Path | None = typer.Option(None, "--policy", help="Verdict policy YAML (default: packaged)."),
    store: str | None = typer.Option(None, "--store", help="DuckDB store to record screened traffic in."),
    full: bool = typer.Option(False, "--full", help="Run learned stages too (default: fast path)."),
    timeout: float = typer.Option(60.0, "--upstream-timeout", min=0.1, help="Upstream deadline, seconds."),
    rate: float = typer.Option(20.0, "--rate", min=0.001, help="Default requests per second per key."),
    burst: int = typer.Option(40, "--burst", min=1, help="Default burst per key."),
    max_body: int = typer.Option(1 << 20, "--max-body-bytes", min=256, help="Largest request body."),
    log_prompts: bool = typer.Option(False, "--log-prompts", help="Include prompt text in request logs."),
    holdback: bool = typer.Option(
        False, "--stream-holdback", help="Release streamed text only after it has been scanned."
    ),
    docs: bool = typer.Option(
        False, "--docs", help="Serve /docs, /redoc and /openapi.json (behind the key; off by default)."
    ),
    max_in_flight: int = typer.Option(
        512, "--max-in-flight", min=1, help="Requests served at once; more are answered 503 + Retry-After."
    ),
    scan_threads: int = typer.Option(8, "--scan-threads", min=1, max=256, help="Threads that run detection."),
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
    """Run the real-time guard: POST /v1/scan, POST /v1/chat/completions, GET /healthz, GET /metrics."""
    import uvicorn
    from pydantic import ValidationError

    from stormwatch.api import Settings, create_app
    from stormwatch.api._logging import redact, setup_json_logging

    keys = keys_file or (Path(os.environ[KEYS_ENV]) if os.environ.get(KEYS_ENV) else None)
    if keys is None or not keys.is_file():
        typer.echo("error: no keys file; create one with `stormwatch keys add --keys-file FILE`", err=True)
        raise typer.Exit(2)
    judge = _judge.judge_config(
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
    setup_json_logging()
    try:
        settings = Settings.from_env(
            os.environ,
            upstream_url=upstream_url,
            keys_file=keys,
            policy=policy,
            store=store,
            full=full,
            upstream_timeout=timeout,
            stream_idle_timeout=timeout,
            rate_per_s=rate,
            burst=burst,
            max_body_bytes=max_body,
            log_prompts=log_prompts,
            stream_holdback=holdback,
            judge=judge,
            docs=docs,
            max_in_flight=max_in_flight,
            scan_threads=scan_threads,
        )
        app = create_app(settings)
    except ValidationError as exc:  # e.g. an --upstream-url that is not a URL (named without its secrets)
        first = exc.errors(include_url=False)[0]
        typer.echo(f"error: {'.'.join(map(str, first['loc']))}: {redact(first['msg'])}", err=True)
        raise typer.Exit(2) from exc
    except StormwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    # uvicorn turns SIGTERM/SIGINT into a graceful shutdown; the app's lifespan then drains the store writer.
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=30)
