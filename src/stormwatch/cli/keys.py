"""`stormwatch keys`: create, list and revoke guard API keys (the keys file stores only hashes)."""

from __future__ import annotations

from pathlib import Path

import typer

from stormwatch.errors import StormwatchError

keys_app = typer.Typer(help="Manage API keys of `stormwatch serve`.", no_args_is_help=True)

_FILE = typer.Option(..., "--keys-file", help="The keys file (JSON, hashes only; created when missing).")


@keys_app.command("add")
def add_cmd(
    keys_file: Path = _FILE,
    name: str = typer.Option("", "--name", help="A label for the key (who or what uses it)."),
    rate: float | None = typer.Option(None, "--rate", min=0.001, help="Own requests/s (default: server's)."),
    burst: int | None = typer.Option(None, "--burst", min=1, help="Own burst size (default: server's)."),
) -> None:
    """Create a key; it is printed once, as the last word of the output, and never stored."""
    from stormwatch.api import add_key

    try:
        rec, key = add_key(keys_file, name=name, rate_per_s=rate, burst=burst)
    except StormwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    label = f" ({rec.name})" if rec.name else ""
    typer.echo(f"created key {rec.id}{label}; copy it now, it is not shown again:\n{key}")


@keys_app.command("list")
def list_cmd(keys_file: Path = _FILE) -> None:
    """List keys: id, name, created, state (never the keys themselves)."""
    from stormwatch.api._keys import load_keys_file

    try:
        data = load_keys_file(keys_file)
    except StormwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for r in data.keys:
        state = f"revoked {r.revoked:%Y-%m-%d %H:%M}" if r.revoked else "active"
        limits = f" rate={r.rate_per_s}/s" if r.rate_per_s else ""
        limits += f" burst={r.burst}" if r.burst else ""
        typer.echo(f"{r.id}\t{r.name or '-'}\t{r.created:%Y-%m-%d %H:%M}\t{state}{limits}")
    if not data.keys:
        typer.echo("no keys")


@keys_app.command("revoke")
def revoke_cmd(
    key_id: str = typer.Argument(..., help="The key id shown by `keys list`."), keys_file: Path = _FILE
) -> None:
    """Revoke a key (a running server stops accepting it within a second)."""
    from stormwatch.api import revoke_key

    try:
        rec = revoke_key(keys_file, key_id)
    except StormwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"revoked key {rec.id}")
