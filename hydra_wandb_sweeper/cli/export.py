"""``export SWEEP --name NAME``: the best trial as a Hydra experiment config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hydra_wandb_sweeper.cli.common import (
    StorageOption,
    SweepArgument,
    console,
    read_sweep,
    value_text,
)
from hydra_wandb_sweeper.engine.table import InspectError


def export(
    sweep: SweepArgument,
    name: Annotated[
        str, typer.Option("--name", help="The experiment's name: conf/experiment/NAME.yaml.")
    ],
    config_dir: Annotated[
        Path, typer.Option(help="The folder of the config your script composes.")
    ] = Path("conf"),
    config_name: Annotated[str, typer.Option(help="The primary config's name.")] = "config",
    trial_number: Annotated[
        int | None, typer.Option("--trial", help="Export this trial instead of the best one.")
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Write the best trial of SWEEP as CONFIG_DIR/experiment/NAME.yaml, so that
    `python train.py +experiment=NAME` composes exactly that trial's config."""
    from hydra_wandb_sweeper.inspect.experiment import write_experiment

    table = read_sweep(sweep, storage)
    if trial_number is None:
        trial = table.require_best()
    else:
        found = [t for t in table.trials if t.number == trial_number]
        if not found:
            raise InspectError(f"--trial: sweep {table.sweep_id} has no trial {trial_number}")
        trial = found[0]
    metric = (
        f"{table.metric} = {value_text(trial.value)}" if trial.value is not None else trial.state
    )
    header = (
        f"Trial {trial.number} (run {trial.run_id}) of sweep {table.sweep_id}: {metric}\n"
        f"Written by: hydra-wandb-sweeper export {table.sweep_id} --name {name}"
    )
    path = write_experiment(
        table.rerun_overrides(trial), config_dir, name, config_name=config_name, header=header
    )
    script = table.program or "train.py"
    console().print(
        f"Wrote {path}\nRun it with: python {script} +experiment={name}", highlight=False
    )
