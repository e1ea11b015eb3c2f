"""How a Hydra job becomes a W&B sweep run: W&B's own environment binding, per job.

With ``WANDB_SWEEP_ID``, ``WANDB_RUN_ID`` and ``WANDB_SWEEP_PARAM_PATH`` set, ``wandb.init()``
(offline or online, and so an unmodified ``WandbLogger``) joins the sweep run by itself and
shows the sweep values in ``wandb.config``. Hydra gives each job its own environment through
``hydra.job.env_set``, which is restored after the job, so serial in-process jobs and
worker processes (joblib, submitit) are bound the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from hydra_wandb_sweeper.engine.base import Engine, Trial
from hydra_wandb_sweeper.searchspace.overrides import override
from hydra_wandb_sweeper.searchspace.space import SearchSpace


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
    """The environment that binds the trial's job to its W&B sweep run and to the engine."""
    path = params_dir / f"config-{trial.run_id}.yaml"
    names = {param.key: param.wandb_name for param in space.parameters}
    write_param_file(path, {names[key]: value for key, value in trial.params.items()})
    environment = {
        "WANDB_SWEEP_ID": engine.sweep_id,
        "WANDB_RUN_ID": trial.run_id,
        "WANDB_SWEEP_PARAM_PATH": str(path),
    }
    if project:
        environment["WANDB_PROJECT"] = project
    if entity:
        environment["WANDB_ENTITY"] = entity
    environment.update(engine.job_environment(trial))
    return environment


def env_set_overrides(environment: Mapping[str, str]) -> list[str]:
    return [override(f"++hydra.job.env_set.{name}", value) for name, value in environment.items()]


class TrialTask:
    """The task as each trial runs it: W&B's process-wide setup reset first, the result kept.

    ``wandb.setup()`` reads the sweep binding (run id, parameter file) from the environment
    once per process, so a second job in the same process (the basic launcher, or a reused
    joblib worker) would join the first job's run. W&B's own agent resets it with
    ``wandb.teardown()`` before each run; so does this wrapper. It pickles, so worker
    processes get it too.
    """

    def __init__(self, task_function: Callable[[Any], Any]) -> None:
        self.task_function = task_function

    def __call__(self, config: Any) -> Any:
        wandb = sys.modules.get("wandb")  # a job that never imported wandb needs nothing
        if wandb is not None:
            wandb.teardown()
        from hydra_wandb_sweeper.job.preemption import preemption_guard, restart_environment

        # on SLURM: checkpoint before a requeue, and a requeued job resumes its W&B run
        with restart_environment(), preemption_guard():
            returned = self.task_function(config)
        # Kept in the engine at once, so that a launcher failure after this job finished
        # (a sibling worker killed, a cluster error) does not lose the result.
        from hydra_wandb_sweeper.job.reporting import current_trial

        trial = current_trial()
        if trial is not None:
            from hydra.core.hydra_config import HydraConfig

            trial.record_result(returned, list(HydraConfig.get().overrides.task))
        return returned
