"""The sweep loop: ask the engine for a batch, launch it as Hydra jobs, tell the results back.

It never knows which engine it drives, and values reach the jobs only as Hydra overrides,
so config groups are swapped by Hydra and ``.hydra/overrides.yaml`` records every trial.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_wandb_sweeper.engine.base import Engine, Trial, TrialRecord, TrialState
from hydra_wandb_sweeper.engine.outcome import Outcome, objective_outcome
from hydra_wandb_sweeper.engine.publishing import publish_at_end
from hydra_wandb_sweeper.errors import SweepConfigError, SweepRuntimeError, SweepStorageError
from hydra_wandb_sweeper.interrupts import interrupts_as_exceptions, raise_if_received, received
from hydra_wandb_sweeper.job.binding import TrialTask, trial_environment
from hydra_wandb_sweeper.searchspace.space import SearchSpace
from hydra_wandb_sweeper.sweep.agents import (
    Agents,
    agent_role,
    gpus_for_agents,
    with_agent_tickets,
)
from hydra_wandb_sweeper.sweep.commands import CommandLine, announce_agents, this_command_line
from hydra_wandb_sweeper.sweep.console import launcher_lines_at_debug, nothing_reported, trial_line
from hydra_wandb_sweeper.sweep.faults import (
    describe_interruption,
    describe_launcher_failure,
    ending_faults,
    failure_budget_exceeded,
    report_despite_faults,
)
from hydra_wandb_sweeper.sweep.joblib_workers import watch_joblib_workers
from hydra_wandb_sweeper.sweep.launch_failure import disk_fault, interrupted, uncomposable_jobs
from hydra_wandb_sweeper.sweep.opening import open_sweep
from hydra_wandb_sweeper.sweep.progress import SweepProgress
from hydra_wandb_sweeper.sweep.results import print_table, summarize, write_results
from hydra_wandb_sweeper.sweep.settings import SweepSettings, read_settings
from hydra_wandb_sweeper.sweep.slurm_batch import launch_batch
from hydra_wandb_sweeper.upstream_private import job_error

log = logging.getLogger(__name__)


class SweepLoop:
    config: DictConfig
    hydra_context: HydraContext
    launcher: Launcher
    task: TrialTask
    command_line: CommandLine
    launch_dir: Path
    sweep_dir: Path
    settings: SweepSettings
    _progress: SweepProgress

    def __init__(self, raw_settings: Mapping[str, Any]) -> None:
        self._raw_settings = dict(raw_settings)
        self._reports_checked = False

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launch_dir = Path(config.hydra.runtime.cwd)
        # absolute, so that workers started elsewhere (submitit) find the parameter files
        self.sweep_dir = self.launch_dir / Path(config.hydra.sweep.dir)
        self.settings = read_settings(self._raw_settings, self.launch_dir)
        if self.settings.agents > 1 and agent_role() is None:
            gpus_for_agents(self.settings.trials_per_gpu)  # before the sweep is created
        self.command_line = this_command_line(config)
        if OmegaConf.select(config, "hydra.launcher.backend", default=None) == "threading":
            raise SweepConfigError(
                "hydra.launcher.backend",
                "got 'threading': threads share one environment, so trials would join each "
                "other's W&B runs. Use the default loky backend, or multiprocessing",
            )
        self.task = TrialTask(task_function, self.settings.trial_timeout_seconds)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=self.task, config=config
        )
        watch_joblib_workers(self.launcher)  # no worker outlives a killed sweeper

    # --- the sweep ----------------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        with ending_faults():  # a storage that fails while the sweep is created or joined
            engine, space = open_sweep(
                self.settings, arguments, self.hydra_context.config_loader, self.config
            )
        engine = with_agent_tickets(engine)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        if self.settings.count == 0:  # create only, as `wandb sweep` does
            try:
                announce_agents(engine, self.command_line)
            finally:
                engine.close()
            return []
        self._announce(engine, space)
        returns: list[Sequence[JobReturn]] = []
        progress = SweepProgress(engine.sweep_id, engine.definition, self.settings.count)
        with ending_faults(), interrupts_as_exceptions():
            try:
                with launcher_lines_at_debug(), progress:
                    self._progress = progress
                    if self.settings.agents > 1 and agent_role() is None:
                        self._run_agents(engine)
                    else:
                        self._run(engine, space, returns)
            finally:
                try:
                    report_despite_faults(lambda: self._report(engine, space))
                finally:
                    engine.close()
        if self.settings.publish and self.settings.engine == "local" and agent_role() is None:
            publish_at_end(self.settings, engine.sweep_id, self.sweep_dir)
        return returns

    def _run(self, engine: Engine, space: SearchSpace, returns: list[Sequence[JobReturn]]) -> None:
        count = self.settings.count
        batch_size = self._batch_size()
        mine: list[TrialRecord] = []
        job_idx = 0
        try:
            while count is None or len(mine) < count:
                if engine.stop_requested():
                    log.info(
                        f"Sweep {engine.sweep_id} is stopped: no more trials from this process "
                        f"(`hydra-wandb-sweeper resume {engine.sweep_id}` lets it go on)"
                    )
                    break
                if self._target_reached(engine):
                    log.info(f"metric.target {engine.definition.target} reached: the sweep ends")
                    break
                wanted = batch_size if count is None else min(batch_size, count - len(mine))
                trials = _ask(engine, wanted)
                if not trials:
                    log.info("The sweep has no more trials to run (grid done or run_cap reached)")
                    break
                batch = [self._job_overrides(trial, space) for trial in trials]
                self.task.environments = {
                    job_idx + i: self._job_environment(trial, engine, space)
                    for i, trial in enumerate(trials)
                }
                self._progress.update(mine, engine.records())
                try:
                    results = launch_batch(self.launcher, batch, job_idx)
                except Exception as error:  # a worker killed, a cluster job lost, a bad job
                    mine += self._launch_failed(error, trials, batch, engine)
                else:
                    returns.append(results)
                    storage_fault = None
                    for trial, result in zip(trials, results, strict=True):
                        if _storage_fault(result) is not None:
                            # the storage failed under the job, not its task: the trial stays
                            # live, is given back below and runs again on resume
                            storage_fault = storage_fault or _storage_fault(result)
                            continue
                        state, value, error_text = _outcome(result, engine.definition.metric_name)
                        engine.tell(trial, state, value, error_text)
                        mine.append(
                            TrialRecord(
                                trial.number, trial.run_id, state, value, trial.params, error_text
                            )
                        )
                    if storage_fault is not None:
                        raise storage_fault
                job_idx += len(trials)
                self._log_trials(engine, trials)
                self._progress.update(mine, engine.records())
                self._check_failure_budget(mine, space)
                raise_if_received()  # a task that caught Ctrl+C and returned
            _fail_if_every_trial_failed(mine)
        except BaseException as interruption:
            # Ctrl+C, SIGTERM, the failure budget: trials in flight end here (their results
            # kept if their jobs finished; grid points queued again otherwise).
            released: list[TrialRecord] = []
            try:
                released = engine.release_unfinished(
                    f"interrupted before it finished ({describe_interruption(interruption)})"
                )
            except SweepStorageError as error:
                if received() is None:
                    raise
                # another process holds the storage: leave the trials to the next one
                log.warning(
                    "The trials in flight were not given back (the storage is busy: "
                    f"{error}); the next process that joins the sweep runs them again"
                )
            finally:
                # a resume finishes what this process was asked for, not count more
                kept = [record for record in released if record.state is not TrialState.FAILED]
                left = None if count is None else count - len(mine) - len(kept)
                # an agent's share of count is not the sweep's: the agents' parent prints
                # the one resume command, once every agent has given its trials back
                here = agent_role() is None and not isinstance(interruption, SweepRuntimeError)
                if here and (left is None or left > 0):
                    log.warning(
                        f"Interrupted ({describe_interruption(interruption)}). Resume this "
                        "sweep with: "
                        + self.command_line.join(engine.sweep_id, engine.location, left)
                    )
            raise

    def _run_agents(self, engine: Engine) -> None:
        agents = Agents(self.settings.agents, self.settings.trials_per_gpu, self.settings.count)
        try:
            agents.run(engine.sweep_id, self.sweep_dir, engine.location)
        except KeyboardInterrupt as interruption:
            # every agent has ended and given back the tickets of the trials it released
            left = agents.left()
            if left is None or left > 0:
                log.warning(
                    f"Interrupted ({describe_interruption(interruption)}). Resume this sweep "
                    "with: " + self.command_line.join(engine.sweep_id, engine.location, left)
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
            + self.command_line.join(engine.sweep_id, engine.location)
        )
        if self._batch_size() == 1 and "submitit" in str(self.config.hydra.launcher._target_):
            log.info("Trials run one at a time: set hydra.sweeper.n_jobs to run them in parallel")

    def _report(self, engine: Engine, space: SearchSpace) -> None:
        records = engine.records()
        summary = summarize(engine.sweep_id, engine.definition, space, records, self.command_line)
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
    def _job_environment(self, trial: Trial, engine: Engine, space: SearchSpace) -> dict[str, str]:
        return trial_environment(
            trial,
            space,
            engine,
            self.sweep_dir / ".wandb-sweep",
            project=self.settings.project,
            entity=self.settings.entity,
        )

    def _job_overrides(self, trial: Trial, space: SearchSpace) -> list[str]:
        overrides = space.job_overrides(trial.params)
        if self._default_subdir():
            # Job folders named by trial number stay unique across batches and across
            # processes that joined the sweep into the same sweep dir.
            overrides.append(f"hydra.sweep.subdir={trial.number}")
        return overrides

    def _launch_failed(
        self,
        error: Exception,
        trials: Sequence[Trial],
        batch: Sequence[Sequence[str]],
        engine: Engine,
    ) -> list[TrialRecord]:
        """End the batch's trials: those whose jobs Hydra cannot compose fail with Hydra's
        reason (their values are the problem, not the launcher); the others are released."""
        if interrupted(error):
            raise KeyboardInterrupt(str(error)) from error
        loader = self.hydra_context.config_loader
        failed = []
        for index, reason in uncomposable_jobs(error, loader, self.config, batch).items():
            trial = trials[index]
            text = f"Hydra cannot compose this trial's job: {reason}"
            engine.tell(trial, TrialState.FAILED, None, text)
            failed.append(
                TrialRecord(trial.number, trial.run_id, TrialState.FAILED, None, trial.params, text)
            )
        if failed:
            return failed + engine.release_unfinished(
                "not run: another job of its batch could not be composed"
            )
        why = describe_launcher_failure(error)
        disk = disk_fault(error)
        if disk is not None:
            # a storage fault (exit 74): the trials of the batch stay live, are given back as
            # the loop ends, and run again on resume, as when a job's report fails
            raise SweepStorageError(
                f"The launcher's worker could not write ({disk.strerror or disk}): the disk "
                "the jobs write to is full, over a limit or read-only. Finished trials are "
                "kept: resume with the join command printed at the start"
            ) from None
        log.error(f"The launcher failed: {why}")
        return engine.release_unfinished(why, worker_died=True)

    def _log_trials(self, engine: Engine, trials: Sequence[Trial]) -> None:
        """One line per trial, as the engine recorded it (stopped, failed, its metric)."""
        numbers = {trial.number for trial in trials}
        batch = [record for record in engine.records() if record.number in numbers]
        for record in batch:
            log.info(trial_line(record, engine.definition.metric_name))
        if engine.definition.early_terminate and not self._reports_checked:
            ended = [r for r in batch if r.state in (TrialState.FINISHED, TrialState.STOPPED)]
            if ended:
                self._reports_checked = True
                if all(record.reports == 0 for record in ended):
                    log.warning(nothing_reported(ended[0].number))

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
        failed = [r for r in mine if r.state is TrialState.FAILED and not r.will_rerun]
        if not failure_budget_exceeded(len(failed), len(mine), self.settings.max_failure_rate):
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
            "the sweep has left (grid points whose task failed are not run again). Failed "
            "trials:\n" + "\n".join(lines)
        )


def _fail_if_every_trial_failed(mine: Sequence[TrialRecord]) -> None:
    if mine and all(record.state is TrialState.FAILED for record in mine):
        raise SweepRuntimeError(
            f"Every trial of this sweep failed ({len(mine)}); the last one: {mine[-1].error}"
        )


def _ask(engine: Engine, wanted: int) -> list[Trial]:
    trials = []
    for _ in range(wanted):
        trial = engine.ask()
        if trial is None:
            break
        trials.append(trial)
    return trials


def _storage_fault(result: JobReturn) -> SweepStorageError | None:
    """The storage error that ended a job, if the storage, not its task, failed."""
    error = job_error(result)
    return SweepStorageError(str(error)) if isinstance(error, SweepStorageError) else None


def _outcome(result: JobReturn, metric_name: str | None) -> Outcome:
    """How a job ended: its state, its metric, and the error to record when it failed."""
    if result.status is JobStatus.FAILED:
        error = job_error(result)
        return TrialState.FAILED, None, f"{type(error).__name__}: {error}"
    try:
        return objective_outcome(result.return_value, metric_name)
    except Exception as error:  # an odd return value is the trial's failure, not the sweep's
        return TrialState.FAILED, None, f"cannot read the task's return value: {error!r}"
