"""How a Hydra job becomes a trial's W&B run: W&B's own environment binding, per job.

With ``WANDB_RUN_ID`` and ``WANDB_SWEEP_PARAM_PATH`` set, ``wandb.init()`` (offline or
online, and so an unmodified ``WandbLogger``) opens the trial's run and locks the trial's
values in ``wandb.config``. The runs of one sweep share a group and a tag. ``WANDB_SWEEP_ID``
is set only by an engine whose sweep exists on the W&B server (its ``job_environment``): a
run bound to a sweep the server has never seen is refused by W&B (``wandb sync``: 404), and
inside a sweep W&B ignores the app's own ``project``.

The environment travels with the task (:class:`TrialTask`), keyed by Hydra's job number,
so that the job's override list (logged by the launcher, kept in ``.hydra/overrides.yaml``)
holds the trial's values and nothing else. Serial in-process jobs and worker processes
(joblib, submitit: the task is pickled with each launch) are bound the same way.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from hydra_wandb_sweeper.engine.base import ACTIVE_KEY, Engine, Trial
from hydra_wandb_sweeper.searchspace.space import SearchSpace

# wandb's console settings: set for the jobs unless the user chose any of them
_WANDB_CONSOLE = ("WANDB_SILENT", "WANDB_QUIET", "WANDB_SHOW_INFO", "WANDB_SHOW_WARNINGS")


def write_param_file(path: Path, values: Mapping[str, Any]) -> None:
    """W&B's sweep parameter file: ``wandb_version: 1`` then ``name: {value: v}``."""
    document: dict[str, Any] = {"wandb_version": 1}
    document.update({name: {"value": value} for name, value in values.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def trial_environment(
    trial: Trial,
    space: SearchSpace,
    engine: Engine,
    params_dir: Path,
    project: str | None = None,
    entity: str | None = None,
) -> dict[str, str]:
    """The environment that makes the trial's job its W&B run and links it to the engine."""
    path = params_dir / f"config-{trial.run_id}.yaml"
    # W&B locks each top-level name: what the app logs under it later is ignored
    write_param_file(path, run_config(trial, space))
    environment = {"WANDB_RUN_ID": trial.run_id, "WANDB_SWEEP_PARAM_PATH": str(path)}
    # defaults that a user's own setting wins over (an app's wandb.init arguments win too)
    grouping = {
        "WANDB_RUN_GROUP": f"sweep-{engine.sweep_id}",
        "WANDB_TAGS": f"sweep-{engine.sweep_id}",
        "WANDB_JOB_TYPE": "sweep",
    }
    environment.update({name: v for name, v in grouping.items() if name not in os.environ})
    if project:  # the sweep's project, for apps that do not name one in wandb.init
        environment["WANDB_PROJECT"] = project
    if entity:
        environment["WANDB_ENTITY"] = entity
    environment.update(quiet_wandb_console())
    environment.update(engine.job_environment(trial))
    return environment


def run_config(trial: Trial, space: SearchSpace) -> dict[str, Any]:
    """What W&B locks in the run's config: the cloud engine's run command as W&B's agent
    would lock it, else each value under its W&B name. A conditional sweep's run also lists
    the W&B names of the parameters that applied to it; one that did not apply keeps the
    value W&B's server proposed (the point of its flattened space W&B learns from), or has
    none when nothing was drawn for it (embedded engine)."""
    names = {param.key: param.wandb_name for param in space.parameters}
    if trial.locked is not None:
        values = dict(trial.locked)
    else:
        values = {names[key]: value for key, value in trial.params.items()}
    if space.conditional:
        values[ACTIVE_KEY] = [names[key] for key in trial.params]
    return values


def quiet_wandb_console() -> dict[str, str]:
    """wandb's info and warning lines (run banner, history, a warning per locked config key)
    go to the run's debug log instead of the console, unless the user set wandb's console
    settings or runs the sweeper at debug level (``hydra.verbose=hydra_wandb_sweeper``).
    wandb's errors still show."""
    if any(name in os.environ for name in _WANDB_CONSOLE):
        return {}
    if logging.getLogger("hydra_wandb_sweeper").isEnabledFor(logging.DEBUG):
        return {}
    return {"WANDB_SHOW_INFO": "false", "WANDB_SHOW_WARNINGS": "false"}


def rerun_overrides(hydra_config: Any) -> list[str]:
    """The job's overrides, and the command line's choice of sweeper: a config group of the
    user's (``-m hydra/sweeper=wandb +sweep=plain``) may set keys only that sweeper has, so
    a re-run without it would not compose."""
    chosen = [o for o in hydra_config.overrides.hydra if str(o).startswith("hydra/sweeper=")]
    return [*map(str, chosen), *hydra_config.overrides.task]


class TrialTask:
    """The task as each trial runs it: its environment set, W&B's process-wide setup reset,
    the result kept.

    ``environments`` maps Hydra's job number (``hydra.job.num``, set by every launcher) to
    the job's environment; the sweep loop fills it before each launch. ``wandb.setup()``
    reads the run binding from the environment once per process, so a second job in the
    same process (the basic launcher, or a reused joblib worker) would join the first job's
    run: W&B's own agent resets it with ``wandb.teardown()`` before each run, and so does
    this wrapper. It pickles, so worker processes get it too.
    """

    def __init__(
        self, task_function: Callable[[Any], Any], time_limit: float | None = None
    ) -> None:
        self.task_function = task_function
        self.environments: dict[int, dict[str, str]] = {}
        self.time_limit = time_limit  # hydra.sweeper.trial_timeout_seconds

    def __call__(self, config: Any) -> Any:
        from hydra.core.hydra_config import HydraConfig
        from hydra.core.utils import env_override

        from hydra_wandb_sweeper.job.lifeline import trial_lifeline
        from hydra_wandb_sweeper.job.preemption import (
            drop_submitters_wandb_service,
            preemption_guard,
            restart_environment,
        )
        from hydra_wandb_sweeper.job.reporting import current_trial
        from hydra_wandb_sweeper.job.time_limit import time_limit

        hydra_config = HydraConfig.get()
        with env_override(self.environments.get(int(hydra_config.job.num), {})):
            wandb = sys.modules.get("wandb")  # a job that never imported wandb needs nothing
            if wandb is not None:
                wandb.teardown()
            drop_submitters_wandb_service()
            with trial_lifeline():
                trial = current_trial()
                # on SLURM: checkpoint before a requeue; a requeued job resumes its W&B run
                with restart_environment(), preemption_guard(), time_limit(self.time_limit):
                    if trial is None:
                        returned = self.task_function(config)
                    else:  # as its engine runs it: W&B's server may stop a cloud run by force
                        returned = trial.run(self.task_function, config)
                # Kept in the engine at once, so that a launcher failure after this job
                # finished (a sibling worker killed, a cluster error) does not lose the result.
                if trial is not None:
                    trial.record_result(returned, rerun_overrides(hydra_config))
            return returned
