"""The sweep loop: ask the engine for a batch, launch it as Hydra jobs, tell the results back.

It never knows which engine it drives, and values reach the jobs only as Hydra overrides,
so config groups are swapped by Hydra and ``.hydra/overrides.yaml`` records every trial.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_wandb_sweeper.engine.base import Engine, Trial, TrialRecord, TrialState
from hydra_wandb_sweeper.engine.outcome import Outcome, objective_outcome
from hydra_wandb_sweeper.errors import SweepConfigError, SweepRuntimeError
from hydra_wandb_sweeper.job.binding import TrialTask, env_set_overrides, trial_environment
from hydra_wandb_sweeper.searchspace.space import SearchSpace
from hydra_wandb_sweeper.sweep.agents import agent_role, run_agents, with_agent_tickets
from hydra_wandb_sweeper.sweep.commands import join_command
from hydra_wandb_sweeper.sweep.opening import open_sweep
from hydra_wandb_sweeper.sweep.results import print_table, summarize, write_results
from hydra_wandb_sweeper.sweep.settings import SweepSettings, read_settings

log = logging.getLogger(__name__)


class SweepLoop:
    config: DictConfig
    hydra_context: HydraContext
    launcher: Launcher
    launch_dir: Path
    sweep_dir: Path
    settings: SweepSettings

    def __init__(self, raw_settings: Mapping[str, Any]) -> None:
        self._raw_settings = dict(raw_settings)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launch_dir = Path(config.hydra.runtime.cwd)
        # absolute, so that workers started elsewhere (submitit) find the parameter files
        self.sweep_dir = self.launch_dir / Path(config.hydra.sweep.dir)
        self.settings = read_settings(self._raw_settings, self.launch_dir)
        if OmegaConf.select(config, "hydra.launcher.backend", default=None) == "threading":
            raise SweepConfigError(
                "hydra.launcher.backend",
                "got 'threading': threads share one environment, so trials would join each "
                "other's W&B runs. Use the default loky backend, or multiprocessing",
            )
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=TrialTask(task_function), config=config
        )

    # --- the sweep ----------------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        engine, space = open_sweep(
            self.settings, arguments, self.hydra_context.config_loader, self.config
        )
        engine = with_agent_tickets(engine)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        self._announce(engine, space)
        returns: list[Sequence[JobReturn]] = []
        try:
            with _sigterm_as_interrupt():
                if self.settings.agents > 1 and agent_role() is None:
                    self._run_agents(engine)
                else:
                    self._run(engine, space, returns)
        finally:
            try:
                self._report(engine, space)
            finally:
                engine.close()
        return returns

    def _run(self, engine: Engine, space: SearchSpace, returns: list[Sequence[JobReturn]]) -> None:
        count = self.settings.count
        batch_size = self._batch_size()
        mine: list[TrialRecord] = []
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
                try:
                    results = self.launcher.launch(batch, initial_job_idx=job_idx)
                except Exception as error:  # a worker killed, a cluster job lost
                    log.error(f"The launcher failed: {error!r}")
                    mine += engine.release_unfinished(f"the launcher failed: {error!r}")
                else:
                    returns.append(results)
                    for trial, result in zip(trials, results, strict=True):
                        state, value, error_text = _outcome(result, engine.definition.metric_name)
                        engine.tell(trial, state, value, error_text)
                        mine.append(
                            TrialRecord(
                                trial.number, trial.run_id, state, value, trial.params, error_text
                            )
                        )
                job_idx += len(trials)
                self._check_failure_budget(mine, space)
        except BaseException as interruption:
            # Ctrl+C, SIGTERM, the failure budget: trials in flight end here (their results
            # kept if their jobs finished; grid points queued again otherwise).
            engine.release_unfinished(f"interrupted before it finished ({interruption!r})")
            if not isinstance(interruption, SweepRuntimeError):
                log.warning(
                    "Interrupted. Resume or join this sweep with: "
                    + join_command(engine.sweep_id, engine.location)
                )
            raise

    def _run_agents(self, engine: Engine) -> None:
        try:
            run_agents(
                self.settings.agents,
                self.settings.trials_per_gpu,
                self.settings.count,
                engine.sweep_id,
                self.sweep_dir,
                engine.location,
            )
        except KeyboardInterrupt:
            log.warning(
                "Interrupted. Resume or join this sweep with: "
                + join_command(engine.sweep_id, engine.location)
            )
            raise

    # --- reporting --------------------------------------------------------------------------
    def _announce(self, engine: Engine, space: SearchSpace) -> None:
        definition = engine.definition
        log.info(
            f"W&B sweep {engine.sweep_id} | engine: {self.settings.engine} | "
            f"method: {definition.method} | storage: {engine.location}"
        )
        if space.name_map():
            renamed = ", ".join(f"{key} -> {name}" for key, name in space.name_map().items())
            log.info(f"W&B parameter names: {renamed}")
        log.info(
            "Join this sweep from another terminal or machine: "
            + join_command(engine.sweep_id, engine.location)
        )
        if self._batch_size() == 1 and "submitit" in str(self.config.hydra.launcher._target_):
            log.info("Trials run one at a time: set hydra.sweeper.n_jobs to run them in parallel")

    def _report(self, engine: Engine, space: SearchSpace) -> None:
        records = engine.records()
        summary = summarize(engine.sweep_id, engine.definition, space, records)
        path = write_results(self.sweep_dir, summary)
        if records and agent_role() is None:  # the agents' parent prints the one table
            print_table(records, engine.definition, space)
        log.info(f"Results: {path}")
        if "rerun_best" in summary:
            log.info(
                f"Best {summary['metric']['name']} = {summary['best_value']:.6g}; "
                f"re-run it with: {summary['rerun_best']}"
            )

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
            "Finished trials are kept, and resuming with hydra.sweeper.sweep_id runs the trials "
            "the sweep has left (failed grid points are not run again). Failed trials:\n"
            + "\n".join(lines)
        )


def _ask(engine: Engine, wanted: int) -> list[Trial]:
    trials = []
    for _ in range(wanted):
        trial = engine.ask()
        if trial is None:
            break
        trials.append(trial)
    return trials


def _outcome(result: JobReturn, metric_name: str | None) -> Outcome:
    """How a job ended: its state, its metric, and the error to record when it failed."""
    if result.status is JobStatus.FAILED:
        try:
            result.return_value  # noqa: B018 - re-raises the job's exception
        except Exception as error:
            return TrialState.FAILED, None, f"{type(error).__name__}: {error}"
    try:
        return objective_outcome(result.return_value, metric_name)
    except Exception as error:  # an odd return value is the trial's failure, not the sweep's
        return TrialState.FAILED, None, f"cannot read the task's return value: {error!r}"


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a cluster's preemption) ends the sweep like Ctrl+C: trials in flight
    are released and the results written, instead of an exit that skips all of it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
