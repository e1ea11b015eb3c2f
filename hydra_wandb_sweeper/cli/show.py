"""``show SWEEP``: the trials table, sortable, as JSON, or live with ``--watch``."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from hydra_wandb_sweeper.cli.common import (
    JsonOption,
    StorageOption,
    SweepArgument,
    console,
    duration_text,
    read_sweep,
    value_text,
)
from hydra_wandb_sweeper.engine.table import (
    SweepTable,
    TrialRow,
    sort_trials,
    sweep_json,
    trial_json,
)
from hydra_wandb_sweeper.sweep.console import printable

# Rows rendered by default: a terminal shows about this many, and rendering every row of a
# 5000-trial sweep took seconds.
DEFAULT_LIMIT = 50


def show(
    sweep: SweepArgument,
    storage: StorageOption = None,
    sort: Annotated[
        str,
        typer.Option(
            help="Order by: number, state, value (best first), duration, or a parameter's name."
        ),
    ] = "number",
    as_json: JsonOption = False,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh the table until Ctrl+C.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes with --watch.")] = 2.0,
    limit: Annotated[
        int,
        typer.Option(
            min=0,
            help="Rows in the table: the newest trials by number, else the first of the "
            "order (--sort value: the best). 0 shows every trial; --json always does.",
        ),
    ] = DEFAULT_LIMIT,
) -> None:
    """The trials of SWEEP: state, metric, parameters (W&B names), duration, run id."""
    table = read_sweep(sweep, storage)
    if as_json:
        payload = sweep_json(table)
        payload["trials_table"] = [
            trial_json(t, table) for t in sort_trials(table.trials, sort, table)
        ]
        typer.echo(json.dumps(payload, indent=2))
        return
    if not watch:
        console().print(render(table, sort, limit))
        return
    from rich.live import Live

    out = console()
    with Live(render(table, sort, limit), console=out, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render(read_sweep(sweep, storage), sort, limit), refresh=True)
        except KeyboardInterrupt:
            pass


def render(table: SweepTable, sort: str = "number", limit: int = 0) -> Group:
    """A title line (never wrapped to the table's width) above the trials table, and a line
    saying how many trials the table leaves out when ``limit`` (0: none) cuts it."""
    ordered = sort_trials(table.trials, sort, table)
    shown = ordered
    if 0 < limit < len(ordered):
        # by number the newest matter (a sweep in progress); in any other order, the first
        shown = ordered[-limit:] if sort == "number" else ordered[:limit]
    parts: list[Text | Table] = [Text(_title(table), no_wrap=True), _rows(table, shown)]
    if len(shown) < len(ordered):
        which = "earlier" if sort == "number" else "further"
        parts.append(
            Text(
                f"{len(ordered) - len(shown)} {which} trials not shown (--limit 0 shows all)",
                no_wrap=True,
            )
        )
    return Group(*parts)


def _title(table: SweepTable) -> str:
    best = table.best()
    counts = ", ".join(f"{n} {state}" for state, n in table.counts().items() if n)
    title = f"Sweep {table.sweep_id}" + (f" ({table.name})" if table.name else "")
    title += f" | {table.method} | {counts or 'no trials yet'}"
    if table.paused:
        title += " | stop requested"
    if best is not None:
        title += f" | best {table.metric} = {value_text(best.value)} (trial {best.number})"
    return printable(title)  # shown as a Text, which does not pass the console's check


def _rows(table: SweepTable, trials: list[TrialRow]) -> Table:
    best = table.best()
    rows = Table()
    rows.add_column("#", justify="right")
    rows.add_column("state")
    rows.add_column(table.metric or "value", justify="right")
    for column in table.columns:
        rows.add_column(column.wandb_name, justify="right")
    rows.add_column("duration", justify="right")
    rows.add_column("run")
    for trial in trials:
        is_best = best is not None and trial.number == best.number
        state = trial.state + (f"@{trial.stopped_at}" if trial.stopped_at is not None else "")
        rows.add_row(
            f"{trial.number}{'*' if is_best else ''}",
            state,
            value_text(trial.value),
            *(value_text(trial.params.get(c.key), 4) for c in table.columns),
            duration_text(trial.duration_s),
            trial.run_id,
            style="bold green" if is_best else ("red" if trial.state == "failed" else None),
        )
    return rows
