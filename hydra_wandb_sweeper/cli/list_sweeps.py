"""``list``: the sweeps in a storage (or a W&B project), with their trials and best value."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from hydra_wandb_sweeper.cli.common import JsonOption, StorageOption, console, value_text
from hydra_wandb_sweeper.engine.table import STATES, NewerSweepError, SweepTable, sweep_json


def list_sweeps(
    storage: StorageOption = None,
    wandb_project: Annotated[
        str | None,
        typer.Option(
            "--wandb",
            metavar="ENTITY/PROJECT",
            help="List the sweeps of this W&B project instead of the local storage.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List sweeps: id, name, method, metric, trials by state, best value, created, last activity."""
    tables = _read_all(storage, wandb_project)
    if as_json:
        typer.echo(json.dumps([sweep_json(table) for table in tables], indent=2))
        return
    listing = Table()
    for header in ("id", "name", "method", "metric"):
        listing.add_column(header)
    for header in (*STATES, "best"):
        listing.add_column(header, justify="right")
    for header in ("created", "last activity", "status"):
        listing.add_column(header)
    for table in tables:
        counts = table.counts()
        best = table.best()
        arrow = {"maximize": " (max)", "minimize": " (min)"}.get(table.goal, "")
        listing.add_row(
            table.sweep_id,
            table.name or "",
            table.method,
            f"{table.metric}{arrow}" if table.metric else "",
            *(str(counts[state]) for state in STATES),
            "" if best is None else value_text(best.value),
            _when(table.created),
            _when(table.last_activity()),
            "stop requested" if table.paused else "",
        )
    out = console()
    out.print(f"Sweeps in {wandb_project or tables[0].source}", highlight=False)
    out.print(listing)


def _read_all(storage: str | None, wandb_project: str | None) -> list[SweepTable]:
    if wandb_project:
        from hydra_wandb_sweeper.engine.kinds import wandb_sweeps

        sweeps = wandb_sweeps()
        return [sweeps.read(path) for path in sweeps.sweep_ids(wandb_project)]
    from hydra_wandb_sweeper.engine.kinds import local_sweeps

    local = local_sweeps(storage)
    tables, newer = [], []
    for sweep_id in local.sweep_ids():
        try:
            tables.append(local.read(sweep_id))
        except NewerSweepError as error:  # the others are still worth listing
            newer.append(error)
    if not tables and newer:
        raise newer[0]
    for skipped in newer:
        typer.echo(f"not listed: {skipped}", err=True)
    return tables


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
