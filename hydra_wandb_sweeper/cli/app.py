"""``hydra-wandb-sweeper``: commands around sweeps. Each subcommand lives in its own module
and is registered here with one line."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hydra-wandb-sweeper",
    help="Commands around sweeps of hydra-wandb-sweeper.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def commands() -> None:
    """Commands around sweeps of hydra-wandb-sweeper."""


from hydra_wandb_sweeper.cli import publish  # noqa: E402

app.command("publish")(publish.publish)


def main() -> None:
    app()
