"""``hydra-wandb-sweeper``: see, compare and keep the results of sweeps.

Each subcommand lives in its own module and is registered here with one line.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hydra_wandb_sweeper.engine.table import InspectError

app = typer.Typer(
    name="hydra-wandb-sweeper",
    help="See, compare and keep the results of sweeps: local ones (the embedded engine's "
    "storage, .wandb-sweeps/journal.log by default) and W&B ones (ENTITY/PROJECT/SWEEP_ID).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

from hydra_wandb_sweeper.cli import (  # noqa: E402
    best,
    export,
    list_sweeps,
    publish,
    report,
    show,
    slurm_script,
    stop,
    translate,
)

app.command("list")(list_sweeps.list_sweeps)
app.command("show")(show.show)
app.command("best")(best.best)
app.command("export")(export.export)
app.command("report")(report.report)
app.command("stop")(stop.stop)
app.command("resume")(stop.resume)
app.command("publish")(publish.publish)
app.command("slurm-script")(slurm_script.slurm_script)
app.command("translate")(translate.translate_config)


def _print_version(value: bool) -> None:
    if value:
        from hydra_wandb_sweeper import __version__

        typer.echo(f"hydra-wandb-sweeper {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    pass


def main() -> None:
    """The console script: errors a user can cause end in one line and exit status 1."""
    try:
        app()
    except InspectError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
