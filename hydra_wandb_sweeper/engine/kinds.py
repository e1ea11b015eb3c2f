"""The engines by name: the one module that names every engine, for the sides that meet a
sweep without opening it: a trial's job (its reporter, from the handle the engine put in the
job's environment) and the inspection (a sweep's reader, from how the sweep is named).

Each engine is imported only when it is asked for: reading a W&B sweep needs no Optuna, and
a local trial's job never imports wandb.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hydra_wandb_sweeper.engine.base import TrialReporter
from hydra_wandb_sweeper.engine.table import SweepReader

if TYPE_CHECKING:
    from hydra_wandb_sweeper.engine.cloud.reading import WandbSweeps
    from hydra_wandb_sweeper.engine.local.reading import LocalSweeps


def trial_reporter(handle_json: str) -> TrialReporter:
    """The reporter of the trial the handle (JSON, as its engine wrote it) names."""
    handle = json.loads(handle_json)
    if handle.get("kind") == "cloud":
        from hydra_wandb_sweeper.engine.cloud.trial import CloudTrialReporter

        return CloudTrialReporter(handle)
    from hydra_wandb_sweeper.engine.local.trial import LocalTrialReporter

    return LocalTrialReporter(
        handle["storage"],
        handle["sweep_id"],
        int(handle["trial_number"]),
        handle.get("metric"),
        handle.get("owner"),
    )


def is_wandb_path(sweep: str) -> bool:
    """``ENTITY/PROJECT/SWEEP_ID`` names a sweep on a W&B server; a bare id, a local one."""
    return sweep.count("/") == 2


def wandb_sweeps() -> WandbSweeps:
    """The sweeps on the W&B server wandb's settings name (``wandb login``, ``WANDB_BASE_URL``)."""
    from hydra_wandb_sweeper.engine.cloud.reading import WandbSweeps

    return WandbSweeps()


def local_sweeps(storage: str | None) -> LocalSweeps:
    """The sweeps in a local engine's storage (None: the default journal, here)."""
    from hydra_wandb_sweeper.engine.local.reading import LocalSweeps

    return LocalSweeps(storage)


def sweeps_holding(sweep: str, storage: str | None) -> SweepReader:
    """Where the sweep a user named lives: W&B for a W&B path, else the local storage."""
    return wandb_sweeps() if is_wandb_path(sweep) else local_sweeps(storage)
