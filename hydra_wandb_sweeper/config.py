"""The ``hydra.sweeper`` config of ``hydra/sweeper=wandb`` (registered by the plugin shim).

W&B's own sweep fields come first, so that an existing ``sweep.yaml`` can be pasted under
``hydra.sweeper``; the plugin's own fields follow. Nested W&B structures (``metric``,
``parameters``, ``early_terminate``) are typed ``Any`` on purpose: they are validated by
:mod:`hydra_wandb_sweeper.searchspace.space` and :mod:`hydra_wandb_sweeper.sweep.settings`, whose errors name the
key, the bad value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SHIM_TARGET = "hydra_plugins.wandb_sweeper.wandb_sweeper.WandbSweeper"


@dataclass
class WandbSweeperConf:
    _target_: str = SHIM_TARGET

    # --- W&B sweep fields -------------------------------------------------------------
    # grid | random | bayes
    method: str = "random"
    # {name, goal: minimize|maximize, target}; the task returns a float or a dict holding `name`
    metric: Any | None = None
    # search space: W&B parameter dicts or Hydra sweep strings, keyed by Hydra override keys
    parameters: dict[str, Any] = field(default_factory=dict)
    # {type: hyperband, min_iter | (max_iter and s), eta, strict}
    early_terminate: Any | None = None
    # total trials in the sweep, over every process that joins it
    run_cap: int | None = None
    # sweep display name and description
    name: str | None = None
    description: str | None = None
    # W&B project and entity of the runs and of the cloud sweep
    project: str | None = None
    entity: str | None = None

    # --- plugin fields ----------------------------------------------------------------
    # local: embedded Optuna engine, offline, no account | wandb: a sweep on a W&B server
    engine: str = "local"
    # join or resume an existing sweep instead of creating one
    sweep_id: str | None = None
    # trials this process runs (None: until the sweep ends by grid exhaustion, run_cap or target)
    count: int | None = None
    # trials per launcher batch (None: the launcher's own n_jobs, else 1)
    n_jobs: int | None = None
    # processes that run the sweep side by side, each starting a new trial as soon as its
    # last one ends (like `wandb agent` started N times); count is shared between them
    agents: int = 1
    # give each agent one visible GPU (CUDA_VISIBLE_DEVICES), k agents per GPU, round-robin
    trials_per_gpu: int | None = None
    # fraction of finished trials that may fail before the sweep stops (0: none, like Optuna's sweeper)
    max_failure_rate: float = 0.0
    # local engine storage: a journal file path, or an Optuna storage URL
    # (sqlite:///sweeps.db, postgresql://...). None: <launch dir>/.wandb-sweeps/journal.log
    storage: str | None = None
    # sampler seed of the local engine (None: random)
    seed: int | None = None
    # sampler behind method: bayes on the local engine: gp (Optuna's GPSampler) | tpe
    bayes_sampler: str = "gp"
    # trials of the start-up design (scrambled Sobol) before the bayes sampler fits its
    # model; 5 measured best over 10-40 trials (bench/search_quality.py)
    bayes_startup_trials: int = 5
