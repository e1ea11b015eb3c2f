"""The ``hydra.sweeper`` config of ``hydra/sweeper=wandb`` (registered by the plugin shim).

W&B's own sweep fields come first, so that an existing ``sweep.yaml`` can be pasted under
``hydra.sweeper``; the plugin's own fields follow. ``metric`` and ``early_terminate`` list
their fields, so each of their fields can be set on the command line
(``hydra.sweeper.metric.name=val/acc``) and ``--cfg hydra`` lists them; ``parameters`` is
free-form. Values are checked by :mod:`hydra_wandb_sweeper.sweep.settings` and
:mod:`hydra_wandb_sweeper.searchspace`, whose errors name the key, the bad value and what was
expected.

The node Hydra composes is open (not in struct mode) and untyped: an unknown key such as
``hydra.sweeper.run_caps`` then reaches the sweeper, which names the nearest valid key,
instead of Hydra's generic "Key 'run_caps' is not in struct", and so does a value of the
wrong type (``hydra.sweeper.count=1.5``), instead of OmegaConf's merge error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

SHIM_TARGET = "hydra_plugins.wandb_sweeper.wandb_sweeper.WandbSweeper"
MACROS_CALLBACK_TARGET = "hydra_wandb_sweeper.sweep.command_macros.EscapeCommandMacros"
MACROS_CALLBACK_GROUP = "hydra/sweeper_callbacks"
MACROS_CALLBACK_NAME = "wandb"
# absolute: where Hydra looks for callbacks
MACROS_CALLBACK_PACKAGE = "hydra.callbacks.wandb_sweeper_command_macros"
# the local engine's storage when hydra.sweeper.storage (or --storage) is not given,
# relative to the launch folder
DEFAULT_STORAGE = Path(".wandb-sweeps") / "journal.log"


@dataclass
class MetricConf:
    # the metric to optimize: a key of the dict the task returns (or the float it returns)
    name: str | None = None
    # minimize | maximize (W&B's default: minimize)
    goal: str | None = None
    # the sweep ends once a trial reaches this value
    target: float | None = None
    # W&B's value for runs that did not log the metric: latest | best | worst (read by
    # W&B's server, engine: wandb; the local engine says it has no use for it)
    impute: str | None = None
    # W&B's value for running runs: latest | best | worst | false (engine: wandb, as impute)
    impute_while_running: Any = None


@dataclass
class EarlyTerminateConf:
    # hyperband (W&B's only type); unset: no early termination
    type: str | None = None
    # first band, in reported iterations (validation epochs)
    min_iter: int | None = None
    # with s: bands counted down from max_iter, instead of min_iter
    max_iter: int | None = None
    # number of bands below max_iter
    s: int | None = None
    # keep the best int(n/eta)+1 of the n trials at each band (W&B's default: 3); any
    # number > 1, kept as written (an int stays an int, as W&B computes with it)
    eta: Any = None
    # judge the value at the band (W&B's default: true), else the best so far
    strict: bool | None = None


@dataclass
class WandbSweeperConf:
    _target_: str = SHIM_TARGET
    # the settings reach the sweeper as Hydra resolved them, once: W&B's command macros,
    # escaped beforehand, must not be resolved a second time
    _recursive_: bool = False

    # --- W&B sweep fields -------------------------------------------------------------
    # grid | random | bayes (None: grid when every parameter is discrete and no metric is
    # set, else random)
    method: str | None = None
    # what the sweep optimizes; a null or empty metric: none
    metric: MetricConf | None = field(default_factory=MetricConf)
    # search space: W&B parameter dicts or Hydra sweep strings, keyed by Hydra override keys
    parameters: dict[str, Any] = field(default_factory=dict)
    # Hydra's basic sweeper's name for parameters (key: sweep string), merged with them
    params: dict[str, Any] = field(default_factory=dict)
    # stop poor trials early; a null or empty early_terminate: never
    early_terminate: EarlyTerminateConf | None = field(default_factory=EarlyTerminateConf)
    # total trials in the sweep, over every process that joins it
    run_cap: int | None = None
    # sweep display name and description
    name: str | None = None
    description: str | None = None
    # W&B project and entity of the runs and of the cloud sweep
    project: str | None = None
    entity: str | None = None
    # what W&B's CLI agent runs (kept for the cloud engine); this sweeper runs the Hydra app
    program: str | None = None
    command: list[Any] | None = None

    # --- plugin fields ----------------------------------------------------------------
    # local: embedded Optuna engine, offline, no account | wandb: a sweep on a W&B server
    engine: str = "local"
    # join or resume an existing sweep instead of creating one
    sweep_id: str | None = None
    # trials this process runs (None: until the sweep ends by grid exhaustion, run_cap or target)
    count: int | None = None
    # trials per launcher batch (None: the launcher's own n_jobs, else 1)
    n_jobs: int | None = None
    # Hydra's basic sweeper's name for n_jobs, so that its configs keep working
    max_batch_size: int | None = None
    # processes that run the sweep side by side, each starting a new trial as soon as its
    # last one ends (like `wandb agent` started N times); count is shared between them
    agents: int = 1
    # give each agent one visible GPU (CUDA_VISIBLE_DEVICES), k agents per GPU, round-robin
    trials_per_gpu: int | None = None
    # fraction of finished trials that may fail before the sweep stops (0: none, like Optuna's sweeper)
    max_failure_rate: float = 0.0
    # seconds a trial's task may run; one that runs longer ends as a failed trial whose
    # error names this limit (None: no limit)
    trial_timeout_seconds: float | None = None
    # local engine storage: a journal file path, or an Optuna storage URL
    # (sqlite:///sweeps.db, postgresql://...). None: <launch dir>/.wandb-sweeps/journal.log
    storage: str | None = None
    # sampler seed of the local engine (None: random)
    seed: int | None = None
    # sampler behind method: bayes on the local engine: gp (Optuna's GP model on numpy and
    # scipy) | gp_torch (Optuna's GPSampler itself; needs torch, the gp extra) | tpe
    bayes_sampler: str = "gp"
    # trials of the start-up design (scrambled Sobol) before the bayes sampler fits its
    # model; 5 measured best of 2, 5 and 10 over 10-40 trials on Branin, Hartmann-6 and the
    # mixed space
    bayes_startup_trials: int = 5
    # engine: wandb: seconds a trial that W&B stopped may take to end by itself before its
    # job is interrupted (W&B's own agent waits 30 s before it kills a run)
    stop_grace_seconds: float = 30.0
    # engine: wandb: seconds without an answer from the W&B server before this process stops
    # taking trials (running ones finish) and exits with a message
    server_retry_seconds: float = 60.0
    # engine: local: at the end of the sweep, publish it to W&B (upload its runs, create a
    # W&B sweep holding them), as `python -m hydra_wandb_sweeper publish` does
    publish: bool = False


def sweeper_config_node() -> DictConfig:
    """``WandbSweeperConf`` as the open node the plugin stores (see the module docstring)."""
    # The dataclass's keys and defaults, untyped: a value of the wrong type (count=1.5,
    # publish=maybe, metric=5) reaches the sweeper, whose checks name the key and what it
    # expects in one line, instead of failing in OmegaConf's five-line merge error.
    node = cast(
        DictConfig,
        OmegaConf.create(OmegaConf.to_container(OmegaConf.structured(WandbSweeperConf))),
    )
    # open, although Hydra puts the whole config in struct mode (see the module docstring)
    # (metric, early_terminate, parameters, params: every mapping the dataclass holds)
    mappings = [node[key] for key in node if isinstance(node[key], DictConfig)]
    for sub_node in (node, *mappings):
        OmegaConf.set_struct(sub_node, False)
    # W&B's command macros must be escaped before Hydra resolves this node (see
    # hydra_wandb_sweeper.sweep.command_macros): a callback does it, brought in here
    node.defaults = [{f"/{MACROS_CALLBACK_GROUP}": MACROS_CALLBACK_NAME}, "_self_"]
    return node


def macros_callback_node() -> DictConfig:
    return OmegaConf.create({"_target_": MACROS_CALLBACK_TARGET})
