"""``publish``: upload a local sweep's runs to W&B as a W&B sweep."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from hydra_wandb_sweeper.config import DEFAULT_STORAGE
from hydra_wandb_sweeper.errors import SweepConfigError, SweepRuntimeError


def publish(
    sweep: Annotated[
        str | None, typer.Argument(help="Local sweep id (default: the newest in the storage)")
    ] = None,
    storage: Annotated[
        str, typer.Option(help="The local engine's storage: a journal file or a storage URL")
    ] = str(DEFAULT_STORAGE),
    runs: Annotated[
        Path, typer.Option(help="Folder searched for the trials' W&B run folders")
    ] = Path("."),
    project: Annotated[
        str | None, typer.Option(help="W&B project (default: $WANDB_PROJECT)")
    ] = None,
    entity: Annotated[str | None, typer.Option(help="W&B entity (default: yours)")] = None,
) -> None:
    """Upload a local sweep's runs (wandb sync) and create a W&B sweep that holds them.

    Publishing again adds only the runs that are new. Continue the search on W&B with
    hydra.sweeper.engine=wandb hydra.sweeper.sweep_id=PRINTED_ID."""
    from hydra_wandb_sweeper.engine.publishing import publish_local_sweep

    if "://" not in storage and not Path(storage).exists():
        _fail(f"--storage: no local sweep storage at {storage}")
    try:
        done = publish_local_sweep(
            storage,
            sweep,
            runs,
            project=project or os.environ.get("WANDB_PROJECT"),
            entity=entity or os.environ.get("WANDB_ENTITY"),
        )
    except (SweepConfigError, SweepRuntimeError) as error:
        _fail(str(error))
    print(f"Published local sweep {done.local_sweep} as W&B sweep {done.wandb_sweep}")
    print(f"  {len(done.added)} run(s) added; {done.url}")
    if done.missing:
        print(f"  {len(done.missing)} trial(s) without a run folder under {runs}: not published")
    print(
        f"Continue it on W&B: hydra.sweeper.engine=wandb hydra.sweeper.sweep_id={done.wandb_sweep}"
    )


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)
