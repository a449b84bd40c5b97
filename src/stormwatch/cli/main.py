"""The `stormwatch` command: a thin typer shell; every sub-command lives in its own module."""

from __future__ import annotations

import typer

from stormwatch import __version__
from stormwatch.cli.config import config_app
from stormwatch.cli.demo import demo_cmd
from stormwatch.cli.eval import eval_cmd
from stormwatch.cli.export import export_cmd
from stormwatch.cli.hunt import hunt_cmd
from stormwatch.cli.kb import kb_app
from stormwatch.cli.keys import keys_app
from stormwatch.cli.scan import scan_cmd
from stormwatch.cli.serve import serve_cmd
from stormwatch.cli.simulate import simulate_cmd
from stormwatch.cli.train import train_cmd

app = typer.Typer(
    name="stormwatch",
    help="Find threat actors misusing LLMs: scan, hunt, attribute, share.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stormwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Stormwatch command line."""


# Sub-commands are registered explicitly here, so nothing depends on import order.
app.command("scan")(scan_cmd)
app.command("demo")(demo_cmd)
app.add_typer(kb_app, name="kb")
app.command("export")(export_cmd)
app.command("hunt")(hunt_cmd)
app.command("simulate")(simulate_cmd)
app.command("serve")(serve_cmd)
app.add_typer(keys_app, name="keys")
app.add_typer(config_app, name="config")
app.command("train")(train_cmd)
app.command("eval")(eval_cmd)


def main() -> None:
    """Console-script entry point."""
    app()
