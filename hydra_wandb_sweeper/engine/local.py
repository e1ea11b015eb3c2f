"""The embedded engine: an Optuna study in a real storage, shaped like a W&B sweep.

The study's name is the sweep id and its user attributes hold the sweep definition, so any
process that opens the same storage can join the sweep. A journal file is the default
storage (one process or several on one machine or a shared disk); an RDB URL
(``sqlite:///``, ``postgresql://``, ``mysql://``) serves many machines.

Grid points are enqueued once when the sweep is created; a process takes one by moving it
from WAITING to RUNNING, which the storage does atomically, so no grid point runs twice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from hydra_wandb_sweeper.engine.base import (
    STOPPED_ATTR,
    TRIAL_ENV,
    SweepDefinition,
    Trial,
    TrialRecord,
    TrialState,
    new_wandb_id,
)
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.sampling import raw_grid_point, suggest
from hydra_wandb_sweeper.space import Parameter, grid_values

DEFINITION_ATTR = "wandb_sweep"
# A RUNNING trial whose process has not written a heartbeat for this long is taken as dead.
HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 10 * 60.0

_HOST = socket.gethostname()
# The sweep loop reports what matters; Optuna's per-study and per-trial lines are noise here.
optuna.logging.set_verbosity(optuna.logging.WARNING)


def open_storage(spec: str) -> optuna.storages.BaseStorage:
    """A journal file for a path, an RDB storage for a URL; errors name ``hydra.sweeper.storage``."""
    try:
        if "://" in spec:
            return optuna.storages.RDBStorage(spec)
        path = Path(spec).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)
    except Exception as error:  # any driver error: the user must see which URL failed
        raise SweepConfigError(
            "hydra.sweeper.storage",
            f"cannot open storage {spec!r}: {error}. Expected a writable journal file path "
            "or an Optuna storage URL such as sqlite:///sweeps.db or postgresql://user@host/db",
        ) from error


def _sampler(definition: SweepDefinition, seed: int | None, bayes_sampler: str) -> Any:
    if definition.method == "bayes":
        if bayes_sampler == "tpe":
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        if bayes_sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)
        raise SweepConfigError(
            "hydra.sweeper.bayes_sampler", f"got {bayes_sampler!r}, expected 'gp' or 'tpe'"
        )
    # grid trials come from the queue; random samples independently
    return optuna.samplers.RandomSampler(seed=seed)


def _pruner(definition: SweepDefinition) -> optuna.pruners.BasePruner:
    from hydra_wandb_sweeper.hyperband import build_pruner

    return build_pruner(definition.early_terminate)


class LocalEngine:
    """A W&B sweep kept in an Optuna storage; see the module docstring."""

    def __init__(
        self,
        storage_spec: str,
        storage: optuna.storages.BaseStorage,
        study: optuna.Study,
        definition: SweepDefinition,
    ) -> None:
        self.storage_spec = storage_spec
        self.sweep_id = study.study_name
        self._storage = storage
        self._study_id = storage.get_study_id_from_name(study.study_name)
        self.definition = definition
        self.location = storage_spec
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
        bayes_sampler: str = "gp",
    ) -> LocalEngine:
        storage = open_storage(storage_spec)
        study = optuna.create_study(
            storage=storage,
            study_name=new_wandb_id(),
            direction="maximize" if definition.goal == "maximize" else "minimize",
            sampler=_sampler(definition, seed, bayes_sampler),
            pruner=_pruner(definition),
        )
        study.set_user_attr(DEFINITION_ATTR, dataclasses.asdict(definition))
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
        bayes_sampler: str = "gp",
    ) -> LocalEngine:
        storage = open_storage(storage_spec)
        names = [summary.study_name for summary in optuna.get_all_study_summaries(storage)]
        if sweep_id not in names:
            known = ", ".join(names[-10:]) or "none"
            raise SweepConfigError(
                "hydra.sweeper.sweep_id",
                f"no sweep {sweep_id!r} in storage {storage_spec!r} (sweeps there: {known}). "
                "Check the id, or point hydra.sweeper.storage at the storage that holds it",
            )
        probe = optuna.load_study(study_name=sweep_id, storage=storage)
        stored = probe.user_attrs.get(DEFINITION_ATTR)
        if stored is None:
            raise SweepConfigError(
                "hydra.sweeper.sweep_id",
                f"study {sweep_id!r} in {storage_spec!r} was not created by this sweeper",
            )
        definition = _definition_from_attr(stored)
        study = optuna.load_study(
            study_name=sweep_id,
            storage=storage,
            sampler=_sampler(definition, seed, bayes_sampler),
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
        if (grid and "grid_point" not in trial.user_attrs) or self._over_run_cap(trial.number):
            # another process took the last grid point or the last slot under run_cap
            with self._lock:
                del self._live[trial.number]
            trial.set_user_attr("discarded", True)
            self._study.tell(trial, state=OptunaState.FAIL)
            return None
        params = {param.key: suggest(trial, param, grid=grid) for param in self._parameters}
        run_id = new_wandb_id()
        for name, value in {
            "run_id": run_id,
            "params": params,
            "host": _HOST,
            "pid": os.getpid(),
            "heartbeat": time.time(),
        }.items():
            trial.set_user_attr(name, value)
        return Trial(number=trial.number, run_id=run_id, params=params)

    def tell(self, trial: Trial, state: TrialState, value: float | None, error: str | None) -> None:
        with self._lock:
            optuna_trial = self._live.pop(trial.number)
        self._finish(optuna_trial, state, value, error)

    def release_unfinished(self, reason: str) -> None:
        with self._lock:
            unfinished = list(self._live.values())
            self._live.clear()
        for trial in unfinished:
            self._requeue(trial.user_attrs)
            self._finish(trial, TrialState.FAILED, None, reason)

    def records(self) -> list[TrialRecord]:
        trials = self._study.get_trials(deepcopy=False)
        return [_record(trial) for trial in trials if _is_counted(trial)]

    def job_environment(self, trial: Trial) -> dict[str, str]:
        handle = {
            "storage": self.storage_spec,
            "sweep_id": self.sweep_id,
            "trial_number": trial.number,
            "metric": self.definition.metric_name,
        }
        return {TRIAL_ENV: json.dumps(handle, separators=(",", ":"))}

    def close(self) -> None:
        self._stop_heartbeat.set()

    # --- resume ---------------------------------------------------------------------------
    def reclaim_orphans(self) -> list[int]:
        """Fail (grid: re-queue) RUNNING trials whose process died; returns their numbers."""
        reclaimed = []
        now = time.time()
        for frozen in self._study.get_trials(deepcopy=False, states=(OptunaState.RUNNING,)):
            if frozen.number in self._live or not _is_orphan(frozen, now):
                continue
            owner = f"{frozen.user_attrs.get('host')}:{frozen.user_attrs.get('pid')}"
            self._requeue(frozen.user_attrs)
            trial_id = self._storage.get_trial_id_from_study_id_trial_number(
                self._study_id, frozen.number
            )
            message = f"its process ({owner}) stopped before it finished"
            self._storage.set_trial_user_attr(trial_id, "error", message)
            self._study.tell(frozen.number, state=OptunaState.FAIL, skip_if_finished=True)
            reclaimed.append(frozen.number)
        return reclaimed

    # --- internals ------------------------------------------------------------------------
    def _finish(
        self, trial: optuna.Trial, state: TrialState, value: float | None, error: str | None
    ) -> None:
        if error is not None:
            trial.set_user_attr("error", error[:2000])
        if state is TrialState.FINISHED and self._was_stopped(trial.number):
            state = TrialState.STOPPED
        if state is TrialState.FAILED:
            self._study.tell(trial, state=OptunaState.FAIL, skip_if_finished=True)
            return
        # A stopped trial is COMPLETE with the metric it reached, so that every sampler
        # learns from it, as W&B's bayes learns from a stopped run's summary metric.
        trial.set_user_attr("state", state.value)
        if value is None:  # a sweep without a metric (grid, random): Optuna needs a number
            trial.set_user_attr("no_metric", True)
        self._study.tell(trial, 0.0 if value is None else value, skip_if_finished=True)

    def _was_stopped(self, number: int) -> bool:
        # the job (maybe another process) records the stop in the storage
        trial_id = self._storage.get_trial_id_from_study_id_trial_number(self._study_id, number)
        return STOPPED_ATTR in self._storage.get_trial_user_attrs(trial_id)

    def _enqueue_grid(self) -> None:
        import itertools

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
            self._study.enqueue_trial(attrs["grid_raw"], user_attrs={**point, "requeued": True})

    def _has_waiting(self) -> bool:
        return bool(self._study.get_trials(deepcopy=False, states=(OptunaState.WAITING,)))

    def _started_numbers(self) -> list[int]:
        return sorted(t.number for t in self._study.get_trials(deepcopy=False) if _is_counted(t))

    def _run_cap_reached(self) -> bool:
        cap = self.definition.run_cap
        return cap is not None and len(self._started_numbers()) >= cap

    def _over_run_cap(self, number: int) -> bool:
        cap = self.definition.run_cap
        return cap is not None and number not in self._started_numbers()[:cap]

    def _beat(self) -> None:
        while not self._stop_heartbeat.wait(HEARTBEAT_SECONDS):
            with self._lock:
                live = list(self._live.values())
            for trial in live:
                try:
                    trial.set_user_attr("heartbeat", time.time())
                except Exception:  # the trial finished meanwhile
                    continue


def _is_counted(trial: FrozenTrial) -> bool:
    # queued grid points have not started; discarded trials lost a race for the last slot
    return trial.state is not OptunaState.WAITING and not trial.user_attrs.get("discarded")


def _is_orphan(trial: FrozenTrial, now: float) -> bool:
    attrs = trial.user_attrs
    if attrs.get("host") == _HOST and isinstance(attrs.get("pid"), int):
        return not _process_alive(attrs["pid"])
    return now - float(attrs.get("heartbeat", 0.0)) > STALE_AFTER_SECONDS


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _record(trial: FrozenTrial) -> TrialRecord:
    attrs = trial.user_attrs
    if trial.state is OptunaState.COMPLETE:
        state = TrialState(attrs.get("state", TrialState.FINISHED.value))
    elif trial.state is OptunaState.PRUNED:
        state = TrialState.STOPPED
    elif trial.state is OptunaState.RUNNING:
        state = TrialState.RUNNING
    else:
        state = TrialState.FAILED
    steps = trial.intermediate_values
    return TrialRecord(
        number=trial.number,
        run_id=str(attrs.get("run_id", "")),
        state=state,
        value=trial.value if _has_metric(trial) else None,
        params=attrs.get("params", {}),
        error=attrs.get("error"),
        last_step=max(steps) if steps else None,
    )


def _has_metric(trial: FrozenTrial) -> bool:
    return trial.state is OptunaState.COMPLETE and not trial.user_attrs.get("no_metric")


def _definition_from_attr(stored: Mapping[str, Any]) -> SweepDefinition:
    fields = dict(stored)
    fields["parameters"] = tuple(
        (key, name, spec) for key, name, spec in fields.get("parameters", ())
    )
    return SweepDefinition(**fields)
