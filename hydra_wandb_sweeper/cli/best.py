"""``best SWEEP``: the best trial's values and the exact command that re-runs it."""

from __future__ import annotations

import json

import typer

from hydra_wandb_sweeper.cli.common import (
    JsonOption,
    StorageOption,
    SweepArgument,
    console,
    read_sweep,
    value_text,
)
from hydra_wandb_sweeper.engine.table import trial_json
from hydra_wandb_sweeper.sweep.commands import rerun_command


def best(sweep: SweepArgument, storage: StorageOption = None, as_json: JsonOption = False) -> None:
    """The best trial of SWEEP: its metric, its values (W&B names) and the command that re-runs it."""
    table = read_sweep(sweep, storage)
    trial = table.require_best()
    overrides = table.rerun_overrides(trial)
    command = rerun_command(overrides, table.program or "train.py")
    if as_json:
        payload = trial_json(trial, table)
        payload.update(
            sweep_id=table.sweep_id, metric=table.metric, overrides=overrides, rerun=command
        )
        typer.echo(json.dumps(payload, indent=2))
        return
    out = console()
    out.print(
        f"Best trial of sweep {table.sweep_id}: #{trial.number} (run {trial.run_id}, {trial.state}), "
        f"{table.metric} = {value_text(trial.value, 10)}",
        highlight=False,
    )
    names = table.wandb_names()
    for key, value in trial.params.items():
        label = names.get(key, key)
        suffix = f"   (Hydra key {key})" if label != key else ""
        out.print(f"  {label} = {value!r}{suffix}", highlight=False, markup=False)
    out.print("Re-run it with:", highlight=False)
    out.print(f"  {command}", highlight=False, markup=False)
