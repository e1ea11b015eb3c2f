"""The embedded engine: an Optuna study in a real storage, shaped like a W&B sweep.

The study's name is the sweep id and its user attributes hold the sweep definition, so any
process that opens the same storage can join the sweep. A journal file is the default
storage (one process or several on one machine or a shared disk); an RDB URL
(``sqlite:///``, ``postgresql://``, ``mysql://``) serves many machines.

Grid points are enqueued once when the sweep is created; a process takes one by moving it
from WAITING to RUNNING, which the storage does atomically, so no grid point runs twice.
A trial that cannot finish (interrupt, dead process) is failed and its grid point queued
again; trials ended that way do not count against ``run_cap``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from hydra_wandb_sweeper.engine.base import (
    OVERRIDES_ATTR,
    RESULT_ATTR,
    STOPPED_ATTR,
    TRIAL_ENV,
    SweepDefinition,
    Trial,
    TrialRecord,
    TrialState,
    new_wandb_id,
)
from hydra_wandb_sweeper.engine.local.samplers import build_sampler
from hydra_wandb_sweeper.engine.local.sampling import raw_grid_point, suggest
from hydra_wandb_sweeper.engine.local.storage import (
    HEARTBEAT_SECONDS,
    heartbeat_attrs,
    is_orphan,
    open_storage,
    read_definition,
    store_definition,
)
from hydra_wandb_sweeper.engine.outcome import objective_outcome
from hydra_wandb_sweeper.searchspace.space import Parameter, grid_values

log = logging.getLogger(__name__)
# The sweep loop reports what matters; Optuna's per-study and per-trial lines are noise here.
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _pruner(definition: SweepDefinition) -> optuna.pruners.BasePruner:
    from hydra_wandb_sweeper.engine.local.hyperband import build_pruner

    return build_pruner(definition.early_terminate)


def _joiner_seed(seed: int | None, started: int) -> int | None:
    # The printed join command repeats the seed: each joining process must still draw its
    # own proposals, or it would repeat the first process's trials.
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, started, os.getpid()]).generate_state(1)[0])


class LocalEngine:
    """A W&B sweep kept in an Optuna storage; see the module docstring."""

    def __init__(
        self,
        storage_spec: str,
        storage: optuna.storages.BaseStorage,
        study: optuna.Study,
        definition: SweepDefinition,
    ) -> None:
        self.sweep_id = study.study_name
        self.definition = definition
        self.location = storage_spec
        self._storage = storage
        self._study_id = storage.get_study_id_from_name(study.study_name)
        self._study = study
        self._parameters = tuple(
            Parameter(key=key, wandb_name=name, spec=spec)
            for key, name, spec in definition.parameters
        )
        self._live: dict[int, optuna.Trial] = {}
        self._lock = threading.Lock()
        self._stop_heartbeat = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="sweep-heartbeat", daemon=True)
        self._heartbeat.start()

    # --- opening ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        storage_spec: str,
        definition: SweepDefinition,
        *,
        seed: int | None = None,
        bayes: tuple[str, int] = ("gp", 10),
    ) -> LocalEngine:
        storage = open_storage(storage_spec)
        study = optuna.create_study(
            storage=storage,
            study_name=new_wandb_id(),
            direction="maximize" if definition.goal == "maximize" else "minimize",
            sampler=build_sampler(definition.method, seed, bayes),
            pruner=_pruner(definition),
        )
        store_definition(study, definition)
        engine = cls(storage_spec, storage, study, definition)
        if definition.method == "grid":
            engine._enqueue_grid()
        return engine

    @classmethod
    def join(
        cls,
        storage_spec: str,
        sweep_id: str,
        *,
        seed: int | None = None,
        bayes: tuple[str, int] = ("gp", 10),
    ) -> LocalEngine:
        storage = open_storage(storage_spec)
        definition = read_definition(storage, sweep_id, storage_spec)
        started = time.time_ns()  # not the trial count: an RDB storage loads every trial for it
        study = optuna.load_study(
            study_name=sweep_id,
            storage=storage,
            sampler=build_sampler(definition.method, _joiner_seed(seed, started), bayes),
            pruner=_pruner(definition),
        )
        engine = cls(storage_spec, storage, study, definition)
        engine.reclaim_orphans()
        return engine

    # --- the Engine interface -------------------------------------------------------------
    def ask(self) -> Trial | None:
        grid = self.definition.method == "grid"
        if self._run_cap_reached() or (grid and not self._has_waiting()):
            return None
        trial = self._study.ask()
        with self._lock:  # from here on, an interrupt releases this trial
            self._live[trial.number] = trial
        # first of all: who runs it, so that no other process takes it for an orphan
        for name, value in heartbeat_attrs().items():
            trial.set_user_attr(name, value)
        if (grid and "grid_point" not in trial.user_attrs) or self._over_run_cap(trial.number):
            # another process took the last grid point or the last slot under run_cap
            with self._lock:
                del self._live[trial.number]
            trial.set_user_attr("discarded", True)
            self._requeue(trial.user_attrs)
            self._study.tell(trial, state=OptunaState.FAIL)
            return None
        params = {param.key: suggest(trial, param, grid=grid) for param in self._parameters}
        run_id = new_wandb_id()
        trial.set_user_attr("run_id", run_id)
        trial.set_user_attr("params", params)
        return Trial(number=trial.number, run_id=run_id, params=params)

    def tell(self, trial: Trial, state: TrialState, value: float | None, error: str | None) -> None:
        with self._lock:
            optuna_trial = self._live.pop(trial.number)
        self._finish(optuna_trial, state, value, error)

    def release_unfinished(self, reason: str) -> list[TrialRecord]:
        with self._lock:
            unfinished = list(self._live.values())
            self._live.clear()
        records = []
        for trial in unfinished:
            attrs = self._fresh_attrs(trial.number)
            if RESULT_ATTR in attrs:  # its job finished; only the launcher failed
                state, value, error = objective_outcome(
                    attrs[RESULT_ATTR], self.definition.metric_name
                )
            else:
                state, value, error = TrialState.FAILED, None, reason
                trial.set_user_attr("released", True)
                self._requeue(attrs)
            self._finish(trial, state, value, error)
            records.append(_record(self._study.get_trials(deepcopy=False)[trial.number]))
        return records

    def records(self) -> list[TrialRecord]:
        trials = self._study.get_trials(deepcopy=False)
        return [_record(trial) for trial in trials if _is_counted(trial)]

    def job_environment(self, trial: Trial) -> dict[str, str]:
        handle = {
            "storage": self.location,
            "sweep_id": self.sweep_id,
            "trial_number": trial.number,
            "metric": self.definition.metric_name,
        }
        return {TRIAL_ENV: json.dumps(handle, separators=(",", ":"))}

    def close(self) -> None:
        self._stop_heartbeat.set()

    # --- resume ---------------------------------------------------------------------------
    def reclaim_orphans(self) -> None:
        """Fail (grid: re-queue) RUNNING trials whose process is gone."""
        now = time.time()
        for frozen in self._study.get_trials(deepcopy=False, states=(OptunaState.RUNNING,)):
            if frozen.number in self._live or not is_orphan(frozen, now):
                continue
            owner = f"{frozen.user_attrs.get('host')}:{frozen.user_attrs.get('pid')}"
            if self._salvage(frozen):
                log.warning(f"Trial {frozen.number} of {owner} had finished: its result is kept")
                continue
            trial_id = self._trial_id(frozen.number)
            try:
                message = f"its process ({owner}) stopped before it finished"
                self._storage.set_trial_user_attr(trial_id, "error", message)
                self._storage.set_trial_user_attr(trial_id, "released", True)
                # the change of state decides: another joiner may be reclaiming it too
                self._study.tell(frozen.number, state=OptunaState.FAIL)
            except (UpdateFinishedTrialError, ValueError):
                continue
            self._requeue(frozen.user_attrs)
            log.warning(f"Trial {frozen.number} was left running by {owner}: marked failed")

    def _salvage(self, frozen: FrozenTrial) -> bool:
        """Finish an orphan whose job recorded its result before its sweeper died."""
        attrs = self._fresh_attrs(frozen.number)
        if RESULT_ATTR not in attrs:
            return False
        state, value, _ = objective_outcome(attrs[RESULT_ATTR], self.definition.metric_name)
        if state is TrialState.FAILED:
            return False
        if STOPPED_ATTR in attrs:
            state = TrialState.STOPPED
        trial_id = self._trial_id(frozen.number)
        try:
            self._storage.set_trial_user_attr(trial_id, "state", state.value)
            if value is None:
                self._storage.set_trial_user_attr(trial_id, "no_metric", True)
            self._study.tell(frozen.number, 0.0 if value is None else value)
        except (UpdateFinishedTrialError, ValueError):
            pass  # another joiner finished it first
        return True

    # --- internals ------------------------------------------------------------------------
    def _finish(
        self, trial: optuna.Trial, state: TrialState, value: float | None, error: str | None
    ) -> None:
        if error is not None:
            trial.set_user_attr("error", error[:2000])
        if state is TrialState.FINISHED and STOPPED_ATTR in self._fresh_attrs(trial.number):
            state = TrialState.STOPPED  # the job's early termination recorded the stop
        if state is TrialState.FAILED:
            self._tell(trial, OptunaState.FAIL, None)
            return
        # A stopped trial is COMPLETE with the metric it reached, so that every sampler
        # learns from it, as W&B's bayes learns from a stopped run's summary metric.
        trial.set_user_attr("state", state.value)
        if value is None:  # a sweep without a metric (grid, random): Optuna needs a number
            trial.set_user_attr("no_metric", True)
        self._tell(trial, OptunaState.COMPLETE, 0.0 if value is None else value)

    def _tell(self, trial: optuna.Trial, state: OptunaState, value: float | None) -> None:
        try:
            self._study.tell(trial, value, state=state)
        except (UpdateFinishedTrialError, ValueError):
            # Another process took this trial for an orphan and failed it meanwhile: keep
            # the result as a new trial rather than lose it.
            if state is not OptunaState.COMPLETE:
                return
            frozen = self._study.get_trials(deepcopy=False)[trial.number]
            attrs = self._fresh_attrs(trial.number)
            attrs = {k: v for k, v in attrs.items() if k not in ("error", "released")}
            self._study.add_trial(
                optuna.trial.create_trial(
                    params=frozen.params,
                    distributions=frozen.distributions,
                    value=value,
                    user_attrs=attrs,
                    intermediate_values=frozen.intermediate_values,
                )
            )
            log.warning(f"Trial {trial.number} had been marked failed elsewhere; result kept")

    def _enqueue_grid(self) -> None:
        keys = [param.key for param in self._parameters]
        axes = [grid_values(param) for param in self._parameters]
        for point, combination in enumerate(itertools.product(*axes)):
            values = dict(zip(keys, combination, strict=True))
            raw = raw_grid_point(self._parameters, values)
            self._study.enqueue_trial(raw, user_attrs={"grid_point": point, "grid_raw": raw})

    def _requeue(self, attrs: Mapping[str, Any]) -> None:
        """Queue a grid point again when its trial could not finish (no-op off the grid)."""
        if "grid_raw" in attrs:
            point = {"grid_point": attrs["grid_point"], "grid_raw": attrs["grid_raw"]}
            self._study.enqueue_trial(attrs["grid_raw"], user_attrs=point)

    def _trial_id(self, number: int) -> int:
        return self._storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def _fresh_attrs(self, number: int) -> dict[str, Any]:
        # optuna.Trial caches its attributes; the job writes some from another process
        return self._storage.get_trial_user_attrs(self._trial_id(number))

    def _has_waiting(self) -> bool:
        return bool(self._study.get_trials(deepcopy=False, states=(OptunaState.WAITING,)))

    def _counted(self, below: int | None = None) -> int:
        """Trials that count against run_cap (started, neither released nor discarded),
        numbered below ``below``: one pass, reading the attributes of unfinished and failed
        trials only (a finished trial always counts)."""
        started = self._study.get_trials(
            deepcopy=False,
            states=(OptunaState.RUNNING, OptunaState.COMPLETE, OptunaState.FAIL),
        )
        return sum(
            1
            for trial in started
            if (below is None or trial.number < below)
            and (trial.state is OptunaState.COMPLETE or _not_given_back(trial))
        )

    def _run_cap_reached(self) -> bool:
        cap = self.definition.run_cap
        return cap is not None and self._counted() >= cap

    def _over_run_cap(self, number: int) -> bool:
        # this trial is counted: it is over the cap when cap counted trials precede it
        cap = self.definition.run_cap
        return cap is not None and self._counted(below=number) >= cap

    def _beat(self) -> None:
        while not self._stop_heartbeat.wait(HEARTBEAT_SECONDS):
            with self._lock:
                live = list(self._live.values())
            for trial in live:
                try:
                    trial.set_user_attr("heartbeat", time.time())
                except (UpdateFinishedTrialError, ValueError):  # it finished meanwhile
                    continue


def _is_counted(trial: FrozenTrial) -> bool:
    # queued grid points have not started; discarded trials lost a race for the last slot
    return trial.state is not OptunaState.WAITING and not trial.user_attrs.get("discarded")


def _not_given_back(trial: FrozenTrial) -> bool:
    attrs = trial.user_attrs
    return not attrs.get("discarded") and not attrs.get("released")


def _record(trial: FrozenTrial) -> TrialRecord:
    attrs = trial.user_attrs
    if trial.state is OptunaState.COMPLETE:
        state = TrialState(attrs.get("state", TrialState.FINISHED.value))
    elif trial.state is OptunaState.RUNNING:
        state = TrialState.RUNNING
    else:
        state = TrialState.FAILED
    has_metric = trial.state is OptunaState.COMPLETE and not attrs.get("no_metric")
    return TrialRecord(
        number=trial.number,
        run_id=str(attrs.get("run_id", "")),
        state=state,
        value=trial.value if has_metric else None,
        params=attrs.get("params", {}),
        error=attrs.get("error"),
        overrides=tuple(attrs[OVERRIDES_ATTR]) if OVERRIDES_ATTR in attrs else None,
    )
