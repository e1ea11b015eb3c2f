"""The sweep loop: ask the engine for a batch, launch it as Hydra jobs, tell the results back.

It never knows which engine it drives, and values reach the jobs only as Hydra overrides,
so config groups are swapped by Hydra and ``.hydra/overrides.yaml`` records every trial.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_wandb_sweeper.binding import FreshWandbPerJob, env_set_overrides, trial_environment
from hydra_wandb_sweeper.engine.base import (
    Engine,
    SweepDefinition,
    Trial,
    TrialRecord,
    TrialState,
    is_usable_metric,
)
from hydra_wandb_sweeper.errors import SweepConfigError, SweepRuntimeError
from hydra_wandb_sweeper.results import print_table, summarize, write_results
from hydra_wandb_sweeper.settings import SweepSettings, read_settings
from hydra_wandb_sweeper.space import SearchSpace, build_search_space, validate_method
from hydra_wandb_sweeper.validation import check_against_config

log = logging.getLogger(__name__)


class SweepLoop:
    def __init__(self, raw_settings: Mapping[str, Any]) -> None:
        self._raw_settings = dict(raw_settings)
        self._raw_settings.pop("_target_", None)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context,
            task_function=FreshWandbPerJob(task_function),
            config=config,
        )
        self.launch_dir = Path(config.hydra.runtime.cwd)
        # absolute, so that workers started elsewhere (submitit) find the parameter files
        self.sweep_dir = self.launch_dir / Path(config.hydra.sweep.dir)
        self.settings = read_settings(self._raw_settings, self.launch_dir)

    # --- the sweep ----------------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        engine, space = self._open(arguments)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        self._announce(engine, space)
        returns: list[Sequence[JobReturn]] = []
        mine: list[TrialRecord] = []
        try:
            self._run(engine, space, returns, mine)
        finally:
            records = engine.records()
            summary = summarize(engine.sweep_id, engine.definition, space, records, _program())
            path = write_results(self.sweep_dir, summary)
            engine.close()
            if records:
                print_table(records, engine.definition, space)
            log.info(f"Results: {path}")
            if "rerun_best" in summary:
                log.info(
                    f"Best {summary['metric']['name']} = {summary['best_value']:.6g}; "
                    f"re-run it with: {summary['rerun_best']}"
                )
        return returns

    def _run(
        self,
        engine: Engine,
        space: SearchSpace,
        returns: list[Sequence[JobReturn]],
        mine: list[TrialRecord],
    ) -> None:
        count = self.settings.count
        batch_size = self._batch_size()
        job_idx = 0
        try:
            while count is None or len(mine) < count:
                if self._target_reached(engine):
                    log.info(f"metric.target {engine.definition.target} reached: the sweep ends")
                    break
                wanted = batch_size if count is None else min(batch_size, count - len(mine))
                trials = _ask(engine, wanted)
                if not trials:
                    log.info("The sweep has no more trials to run (grid done or run_cap reached)")
                    break
                batch = [self._job_overrides(trial, engine, space) for trial in trials]
                results = self.launcher.launch(batch, initial_job_idx=job_idx)
                job_idx += len(trials)
                returns.append(results)
                for trial, result in zip(trials, results, strict=True):
                    state, value, error = _outcome(result, engine.definition.metric_name)
                    engine.tell(trial, state, value, error)
                    mine.append(
                        TrialRecord(trial.number, trial.run_id, state, value, trial.params, error)
                    )
                self._check_failure_budget(mine, space)
        except BaseException as interruption:
            # Ctrl+C, a launcher crash: trials in flight are failed (grid points queued again)
            engine.release_unfinished(f"interrupted before it finished ({interruption!r})")
            if not isinstance(interruption, SweepRuntimeError):
                log.warning(f"Interrupted. Resume or join this sweep with: {_join_command(engine)}")
            raise

    # --- opening the sweep ----------------------------------------------------------------------
    def _open(self, arguments: Sequence[str]) -> tuple[Engine, SearchSpace]:
        settings = self.settings
        if settings.engine != "local":
            raise SweepConfigError(
                "hydra.sweeper.engine",
                f"engine {settings.engine!r} is not available in this version; use engine=local",
            )
        from hydra_wandb_sweeper.engine.local import LocalEngine

        if settings.sweep_id is not None:
            engine = LocalEngine.join(
                settings.storage,
                settings.sweep_id,
                seed=settings.seed,
                bayes_sampler=settings.bayes_sampler,
            )
            space = _stored_space(engine.definition, arguments)
            log.info(f"Joined sweep {engine.sweep_id}: its stored method and search space apply")
            return engine, space
        space = build_search_space(settings.parameters, arguments)
        if not space.parameters:
            raise SweepConfigError(
                "hydra.sweeper.parameters",
                "the search space is empty: add parameters under hydra.sweeper.parameters "
                "or sweep overrides on the command line (model=a,b)",
            )
        validate_method(space, settings.method, settings.metric, settings.early_terminate)
        _require_an_end(settings)
        check_against_config(self.hydra_context.config_loader, self.config, space)
        definition = _definition(settings, space)
        engine = LocalEngine.create(
            settings.storage, definition, seed=settings.seed, bayes_sampler=settings.bayes_sampler
        )
        return engine, space

    def _announce(self, engine: Engine, space: SearchSpace) -> None:
        definition = engine.definition
        log.info(
            f"W&B sweep {engine.sweep_id} | engine: {self.settings.engine} | "
            f"method: {definition.method} | storage: {engine.location}"
        )
        if space.name_map():
            renamed = ", ".join(f"{key} -> {name}" for key, name in space.name_map().items())
            log.info(f"W&B parameter names: {renamed}")
        log.info(f"Join this sweep from another terminal or machine: {_join_command(engine)}")

    # --- per trial ----------------------------------------------------------------------------
    def _job_overrides(self, trial: Trial, engine: Engine, space: SearchSpace) -> list[str]:
        environment = trial_environment(
            trial,
            space,
            engine,
            self.sweep_dir / ".wandb-sweep",
            project=self.settings.project,
            entity=self.settings.entity,
        )
        overrides = [*space.fixed_overrides, *space.to_overrides(trial.params)]
        overrides += env_set_overrides(environment)
        if self._default_subdir():
            # Job folders named by trial number stay unique across batches and across
            # processes that joined the sweep into the same sweep dir.
            overrides.append(f"hydra.sweep.subdir={trial.number}")
        return overrides

    def _default_subdir(self) -> bool:
        raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        return isinstance(raw, dict) and raw.get("subdir") == "${hydra.job.num}"

    def _batch_size(self) -> int:
        if self.settings.n_jobs is not None:
            return self.settings.n_jobs
        launcher_jobs = OmegaConf.select(self.config, "hydra.launcher.n_jobs", default=None)
        if isinstance(launcher_jobs, int) and launcher_jobs != 0:
            return launcher_jobs if launcher_jobs > 0 else max(1, os.cpu_count() or 1)
        return 1

    def _target_reached(self, engine: Engine) -> bool:
        if engine.definition.target is None:
            return False
        return any(engine.definition.reached_target(record.value) for record in engine.records())

    def _check_failure_budget(self, mine: Sequence[TrialRecord], space: SearchSpace) -> None:
        failed = [record for record in mine if record.state is TrialState.FAILED]
        if not failed or len(failed) / len(mine) <= self.settings.max_failure_rate:
            return
        lines = [
            f"  trial {record.number} ({' '.join(space.to_overrides(record.params))}): "
            f"{record.error}"
            for record in failed
        ]
        raise SweepRuntimeError(
            f"{len(failed)} of {len(mine)} trials failed, more than "
            f"hydra.sweeper.max_failure_rate={self.settings.max_failure_rate}. "
            "Finished trials are kept; fix the failures and resume with "
            "hydra.sweeper.sweep_id. Failed trials:\n" + "\n".join(lines)
        )


def _ask(engine: Engine, wanted: int) -> list[Trial]:
    trials = []
    for _ in range(wanted):
        trial = engine.ask()
        if trial is None:
            break
        trials.append(trial)
    return trials


def _outcome(
    result: JobReturn, metric_name: str | None
) -> tuple[TrialState, float | None, str | None]:
    """How a job ended: its state, its metric, and the error to record when it failed."""
    if result.status is JobStatus.FAILED:
        try:
            result.return_value  # noqa: B018 - re-raises the job's exception
        except Exception as error:
            return TrialState.FAILED, None, f"{type(error).__name__}: {error}"
    value = result.return_value
    if metric_name is None:  # grid and random sweeps may run without a metric
        return TrialState.FINISHED, value if is_usable_metric(value) else None, None
    if isinstance(value, Mapping):
        if metric_name not in value:
            available = ", ".join(map(str, value)) or "none"
            return (
                TrialState.FAILED,
                None,
                (
                    f"the task returned a dict without metric {metric_name!r} "
                    f"(keys: {available}); set hydra.sweeper.metric.name to one of them"
                ),
            )
        value = value[metric_name]
    if hasattr(value, "item"):  # numpy and torch scalars
        value = value.item()
    if not is_usable_metric(value):
        return (
            TrialState.FAILED,
            None,
            (
                f"metric {metric_name} is {value!r}: the task must return a finite "
                "number, or a dict holding metric.name"
            ),
        )
    return TrialState.FINISHED, float(value), None


def _definition(settings: SweepSettings, space: SearchSpace) -> SweepDefinition:
    metric = settings.metric or {}
    target = metric.get("target")
    return SweepDefinition(
        method=str(settings.method),
        metric_name=metric.get("name"),
        goal=str(metric.get("goal", "minimize")),
        target=None if target is None else float(target),
        parameters=tuple((p.key, p.wandb_name, dict(p.spec)) for p in space.parameters),
        early_terminate=settings.early_terminate,
        run_cap=settings.run_cap,
        name=settings.name,
        description=settings.description,
    )


def _stored_space(definition: SweepDefinition, arguments: Sequence[str]) -> SearchSpace:
    """The sweep's stored search space, with this process's plain overrides."""
    from hydra_wandb_sweeper.space import Parameter

    stored = {key: spec for key, _, spec in definition.parameters}
    given = build_search_space({}, arguments)
    differing = [p.key for p in given.parameters if stored.get(p.key) != dict(p.spec)]
    if differing:
        log.warning(
            "A joined sweep keeps its stored search space; these command-line sweep overrides "
            "differ from it and are ignored: " + ", ".join(differing)
        )
    parameters = tuple(
        Parameter(key=key, wandb_name=name, spec=spec) for key, name, spec in definition.parameters
    )
    return SearchSpace(parameters=parameters, fixed_overrides=given.fixed_overrides)


def _require_an_end(settings: SweepSettings) -> None:
    if (
        settings.method in ("random", "bayes")
        and settings.count is None
        and settings.run_cap is None
    ):
        raise SweepConfigError(
            "hydra.sweeper.count",
            f"method {settings.method} never ends by itself: set hydra.sweeper.count "
            "(trials this process runs) or hydra.sweeper.run_cap (trials in the whole sweep)",
        )


def _program() -> str:
    return sys.argv[0] if sys.argv and sys.argv[0] else "train.py"


def _join_command(engine: Engine) -> str:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("hydra.sweeper.sweep_id=")]
    if "-m" not in args and "--multirun" not in args:
        args.insert(0, "-m")
    return shlex.join(["python", _program(), *args, f"hydra.sweeper.sweep_id={engine.sweep_id}"])
