"""The embedded engine: an Optuna study in a real storage, shaped like a W&B sweep.

The study's name is the sweep id and its user attributes hold the sweep definition, so any
process that opens the same storage can join the sweep. A journal file is the default
storage (one machine, or several on a shared disk); SQLite serves one machine; PostgreSQL or
MySQL many machines.

A process takes its next trial under the sweep's claim lock (:mod:`.claims`): it reads the
trials, fails those whose processes are gone (:mod:`.liveness`), picks the next grid point
(:mod:`.grid`, made from its index: nothing is enqueued up front) or checks ``run_cap``, and
creates the trial, owner and point included, in one storage write. So no grid point runs
twice and ``run_cap`` holds on every storage. When every point left is running in another
process, :meth:`LocalEngine.ask` waits for them, so that a grid ends with every point
final. Trials that end without their task finishing (an interrupt, a dead process) do not
count against ``run_cap``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from hydra_wandb_sweeper.engine.base import (
    RESULT_ATTR,
    STOPPED_ATTR,
    TRIAL_ENV,
    SweepDefinition,
    Trial,
    TrialRecord,
    TrialState,
    new_wandb_id,
    stored_parameters,
)
from hydra_wandb_sweeper.engine.local.claims import claim_lock
from hydra_wandb_sweeper.engine.local.conditional import inactive_handling, sample_active
from hydra_wandb_sweeper.engine.local.grid import (
    ENDED_ATTR,
    POINT_ATTR,
    RERUN_ENDINGS,
    Grid,
    histories,
    next_point,
)
from hydra_wandb_sweeper.engine.local.liveness import (
    HEARTBEAT_SECONDS,
    JOB_ATTR,
    OWNER_ATTR,
    OWNER_BEAT_ATTR,
    identity,
    is_orphan,
    why_orphaned,
)
from hydra_wandb_sweeper.engine.local.records import (
    counts_against_cap,
    ending,
    record,
    sweep_records,
)
from hydra_wandb_sweeper.engine.local.samplers import build_sampler
from hydra_wandb_sweeper.engine.local.sampling import joiner_seed
from hydra_wandb_sweeper.engine.local.storage import (
    is_stop_requested,
    open_storage,
    read_definition,
    storage_faults,
    store_definition,
)
from hydra_wandb_sweeper.engine.local.sweep_format import (
    ERROR_ATTR,
    NO_METRIC_ATTR,
    PARAMS_ATTR,
    RUN_ID_ATTR,
    STATE_ATTR,
)
from hydra_wandb_sweeper.engine.outcome import objective_outcome
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.interrupts import deferred_interrupts

log = logging.getLogger(__name__)
# The sweep loop reports what matters; Optuna's per-study and per-trial lines are noise here.
optuna.logging.set_verbosity(optuna.logging.WARNING)
WAIT_POLL_SECONDS = 1.0
CLOSE_WAIT_SECONDS = 10.0  # at most this long for a heartbeat write in flight when the sweep ends
_WAIT = object()  # nothing to claim now, but trials running elsewhere may free a point


def _pruner(definition: SweepDefinition) -> optuna.pruners.BasePruner:
    from hydra_wandb_sweeper.engine.local.hyperband import build_pruner

    return build_pruner(definition.early_terminate)


def _sampler(
    definition: SweepDefinition, seed: int | None, bayes: tuple[str, int]
) -> optuna.samplers.BaseSampler:
    return build_sampler(definition.method, seed, bayes, conditional=bool(definition.conditions))


class LocalEngine:
    """A W&B sweep kept in an Optuna storage; see the module docstring."""

    def __init__(
        self,
        storage_spec: str,
        storage: optuna.storages.BaseStorage,
        study: optuna.Study,
        definition: SweepDefinition,
        bayes_sampler: str = "gp",
    ) -> None:
        self.sweep_id = study.study_name
        self.definition = definition
        self.location = storage_spec
        self._storage = storage
        self._study_id = storage.get_study_id_from_name(study.study_name)
        self._study = study
        self._parameters = stored_parameters(definition)
        self._inactive = inactive_handling(definition.method, bayes_sampler)
        self._grid = Grid(self._parameters) if definition.method == "grid" else None
        try:
            self._claims = claim_lock(storage_spec, storage, self.sweep_id)
        except ValueError as error:
            raise SweepConfigError("hydra.sweeper.storage", str(error)) from None
        self._live: dict[int, optuna.Trial] = {}
        self._live_ids: dict[int, int] = {}  # their storage ids, for the heartbeat
        self._alone = False  # the batch in flight runs a point again alone
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
        bayes: tuple[str, int] = ("gp", 5),
    ) -> LocalEngine:
        storage = open_storage(storage_spec)
        with storage_faults(storage_spec), deferred_interrupts():
            study = optuna.create_study(
                storage=storage,
                study_name=new_wandb_id(),
                direction="maximize" if definition.goal == "maximize" else "minimize",
                sampler=_sampler(definition, seed, bayes),
                pruner=_pruner(definition),
            )
            store_definition(study, definition)
            return cls(storage_spec, storage, study, definition, bayes[0])

    @classmethod
    def join(
        cls,
        storage_spec: str,
        sweep_id: str,
        *,
        seed: int | None = None,
        bayes: tuple[str, int] = ("gp", 5),
    ) -> LocalEngine:
        storage = open_storage(storage_spec)
        with storage_faults(storage_spec), deferred_interrupts():
            definition = read_definition(storage, sweep_id, storage_spec)
            # not the trial count: an RDB storage loads every trial to count them
            started = time.time_ns()
            study = optuna.load_study(
                study_name=sweep_id,
                storage=storage,
                sampler=_sampler(definition, joiner_seed(seed, started), bayes),
                pruner=_pruner(definition),
            )
            engine = cls(storage_spec, storage, study, definition, bayes[0])
            engine.reclaim_orphans()
        return engine

    # --- the Engine interface -------------------------------------------------------------
    def ask(self) -> Trial | None:
        announced = False
        while True:
            with self._guarded():
                claimed = self._claim()
                if claimed is not _WAIT:
                    return None if claimed is None else self._propose(claimed)
            if not announced:
                log.info("Waiting for the trials other processes are running to end")
                announced = True
            time.sleep(WAIT_POLL_SECONDS)

    def tell(self, trial: Trial, state: TrialState, value: float | None, error: str | None) -> None:
        with self._guarded():
            with self._lock:
                optuna_trial = self._live[trial.number]
            # still live while it is written: a Ctrl+C that ends the wait for the storage
            # leaves it to release_unfinished, which keeps the result its job recorded
            self._finish(optuna_trial, state, value, error)
            with self._lock:
                self._live.pop(trial.number)
                self._live_ids.pop(trial.number, None)
                self._alone = self._alone and bool(self._live)

    def release_unfinished(self, reason: str, *, worker_died: bool = False) -> list[TrialRecord]:
        with self._guarded():
            with self._lock:
                unfinished = list(self._live.values())
                self._live.clear()
                self._live_ids.clear()
                self._alone = False
            attrs = {trial.number: self._fresh_attrs(trial.number) for trial in unfinished}
            cut_short = [number for number, found in attrs.items() if RESULT_ATTR not in found]
            records = []
            for trial in unfinished:
                found = attrs[trial.number]
                if RESULT_ATTR in found:  # its job finished; only the launcher failed
                    outcome = objective_outcome(found[RESULT_ATTR], self.definition.metric_name)
                    self._finish(trial, *outcome)
                else:
                    ended, error = ending(reason, worker_died, len(cut_short), JOB_ATTR in found)
                    with contextlib.suppress(UpdateFinishedTrialError):  # ended elsewhere
                        self._fail(trial.number, ended, error)
                records.append(self._record_of(trial.number))
            return records

    def records(self) -> list[TrialRecord]:
        with self._guarded():
            return sweep_records(
                self._study.get_trials(deepcopy=False), grid=self._grid is not None
            )

    def job_environment(self, trial: Trial) -> dict[str, str]:
        handle = {
            "storage": self.location,
            "sweep_id": self.sweep_id,
            "trial_number": trial.number,
            "metric": self.definition.metric_name,
            "owner": identity(),
        }
        return {TRIAL_ENV: json.dumps(handle, separators=(",", ":"))}

    def close(self) -> None:
        self._stop_heartbeat.set()
        # Joined, not left to die with the interpreter: a daemon thread that is still running
        # Python while the interpreter shuts down can be the one whose garbage collection
        # frees the GP model's torch tensors, and torch releases the GIL while it frees them;
        # a thread that cannot take the GIL back at shutdown is ended, and ending it in
        # torch's C++ aborts the process ("terminate called without an active exception").
        # Bounded: a beat blocked on a storage lock must not hold the sweep's exit.
        if self._heartbeat.is_alive() and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=CLOSE_WAIT_SECONDS)

    def stop_requested(self) -> bool:
        return is_stop_requested(self._storage, self._study_id)

    # --- claims ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        # a signal waits for the write in progress; a failing storage ends in one sentence
        with deferred_interrupts(), storage_faults(self.location):
            yield

    def _claim(self) -> Any:
        """Under the claim lock: a new trial, None (nothing left for this batch) or _WAIT."""
        with self._claims.held():
            trials = self._study.get_trials(deepcopy=False)
            if self._reclaim(trials):
                trials = self._study.get_trials(deepcopy=False)
            if self._alone:
                return None
            others_running = any(
                trial.state is OptunaState.RUNNING and trial.number not in self._live
                for trial in trials
            )
            nothing_now = _WAIT if others_running and not self._live else None
            cap = self.definition.run_cap  # over every method, a grid's included, as W&B's
            if cap is not None and sum(map(counts_against_cap, trials)) >= cap:
                return nothing_now
            if self._grid is None:
                return self._create()
            points = histories(trials)
            point = next_point(points, self._grid.size)
            if point is None:
                return nothing_now
            alone = point in points and points[point].runs_alone
            if alone and self._live:
                return None  # it starts a batch of its own
            self._alone = alone
            return self._create(point)

    def _create(self, point: int | None = None) -> optuna.Trial:
        attrs: dict[str, Any] = {
            OWNER_ATTR: identity(),
            OWNER_BEAT_ATTR: time.time(),
            RUN_ID_ATTR: new_wandb_id(),
        }
        params: dict[str, Any] = {}
        distributions: dict[str, Any] = {}
        if point is not None and self._grid is not None:
            attrs.update({POINT_ATTR: point, PARAMS_ATTR: self._grid.values(point)})
            params, distributions = self._grid.optuna_params(point)
        template = optuna.trial.create_trial(
            state=OptunaState.RUNNING,
            params=params,
            distributions=distributions,
            user_attrs=attrs,
        )
        trial_id = self._storage.create_new_trial(self._study_id, template_trial=template)
        trial = optuna.Trial(self._study, trial_id)
        with self._lock:  # from here on, an interrupt releases this trial
            self._live[trial.number] = trial
            self._live_ids[trial.number] = trial_id
        return trial

    def _propose(self, trial: optuna.Trial) -> Trial:
        attrs = trial.user_attrs
        if self._grid is not None:
            params = dict(attrs[PARAMS_ATTR])
        else:
            params = sample_active(trial, self._parameters, inactive=self._inactive)
            trial.set_user_attr(PARAMS_ATTR, params)
        inactive = {p.key: None for p in self._parameters if p.key not in params}
        return Trial(trial.number, str(attrs[RUN_ID_ATTR]), params, inactive=inactive)

    # --- orphans --------------------------------------------------------------------------
    def reclaim_orphans(self) -> None:
        """End RUNNING trials whose processes are gone: with the result their job recorded,
        else failed (grid: the point runs again)."""
        with self._guarded(), self._claims.held():
            self._reclaim(self._study.get_trials(deepcopy=False))

    def _reclaim(self, trials: list[FrozenTrial]) -> bool:
        now = time.time()
        orphans = [
            trial
            for trial in trials
            if trial.state is OptunaState.RUNNING
            and trial.number not in self._live
            and is_orphan(trial, now)
        ]
        for frozen in orphans:
            owner = frozen.user_attrs.get(OWNER_ATTR) or {}
            who = f"{owner.get('host')}:{owner.get('pid')}"
            attrs = self._fresh_attrs(frozen.number)
            try:
                if RESULT_ATTR in attrs:
                    outcome = objective_outcome(attrs[RESULT_ATTR], self.definition.metric_name)
                    self._finish(frozen.number, *outcome)
                    log.warning(f"Trial {frozen.number} of {who} had finished: its result is kept")
                    continue
                started = JOB_ATTR in attrs
                message = why_orphaned(frozen, now)
                self._fail(frozen.number, "process_died" if started else "interrupted", message)
            except UpdateFinishedTrialError:
                continue  # its owner was alive after all and ended it meanwhile
            log.warning(f"Trial {frozen.number} was left running: {message}")
        return bool(orphans)

    # --- endings --------------------------------------------------------------------------
    def _finish(
        self, trial: optuna.Trial | int, state: TrialState, value: float | None, error: str | None
    ) -> None:
        number = trial if isinstance(trial, int) else trial.number
        attrs: dict[str, Any] = {} if error is None else {ERROR_ATTR: error[:2000]}
        if state is not TrialState.FAILED:
            if state is TrialState.FINISHED and STOPPED_ATTR in self._fresh_attrs(number):
                state = TrialState.STOPPED  # the job's early termination recorded the stop
            # A stopped trial is COMPLETE with the metric it reached, so that every sampler
            # learns from it, as W&B's bayes learns from a stopped run's summary metric.
            attrs[STATE_ATTR] = state.value
            if value is None:  # a sweep without a metric (grid, random): Optuna needs a number
                attrs[NO_METRIC_ATTR] = True
        trial_id = self._trial_id(number)
        try:
            for name, attr in attrs.items():
                self._storage.set_trial_user_attr(trial_id, name, attr)
            if state is TrialState.FAILED:
                self._study.tell(number, state=OptunaState.FAIL)
            else:
                self._study.tell(number, 0.0 if value is None else value)
        except UpdateFinishedTrialError:
            # Another process took this trial for an orphan (its heartbeat was late) and
            # failed it meanwhile: keep the result as a new trial rather than lose it.
            if state is not TrialState.FAILED:
                self._keep_as_new_trial(number, 0.0 if value is None else value, attrs)

    def _fail(self, number: int, ended: str, error: str) -> None:
        trial_id = self._trial_id(number)
        self._storage.set_trial_user_attr(trial_id, ENDED_ATTR, ended)
        self._storage.set_trial_user_attr(trial_id, ERROR_ATTR, error[:2000])
        self._study.tell(number, state=OptunaState.FAIL)

    def _keep_as_new_trial(self, number: int, value: float, attrs: dict[str, Any]) -> None:
        frozen = self._storage.get_trial(self._trial_id(number))
        kept_attrs = {
            k: v for k, v in frozen.user_attrs.items() if k not in (ERROR_ATTR, ENDED_ATTR)
        }
        kept = optuna.trial.create_trial(
            params=frozen.params,
            distributions=frozen.distributions,
            value=value,
            user_attrs={**kept_attrs, **attrs},
            intermediate_values=frozen.intermediate_values,
        )
        with self._claims.held():
            self._storage.create_new_trial(self._study_id, template_trial=kept)
        log.warning(f"Trial {number} had been marked failed elsewhere; its result is kept")

    # --- internals ------------------------------------------------------------------------
    def _trial_id(self, number: int) -> int:
        return self._storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def _fresh_attrs(self, number: int) -> dict[str, Any]:
        # optuna.Trial caches its attributes; the job writes some from another process
        return self._storage.get_trial_user_attrs(self._trial_id(number))

    def _record_of(self, number: int) -> TrialRecord:
        trial = self._storage.get_trial(self._trial_id(number))
        # a trial cut short through no fault of its own: not a failure of the task
        return record(trial, will_rerun=trial.user_attrs.get(ENDED_ATTR) in RERUN_ENDINGS)

    def _beat(self) -> None:
        # Its own storage object: a journal storage holds its thread lock while it takes the
        # file lock, and a claim takes them the other way round; one shared object between
        # this thread and a claim could deadlock.
        # Opened at the first beat that has a trial to beat for, not at start: reading the
        # sweep's history again is a cost a short-lived process need not pay.
        storage: optuna.storages.BaseStorage | None = None
        while not self._stop_heartbeat.wait(HEARTBEAT_SECONDS):
            with self._lock:
                live = list(self._live_ids.values())
            if not live:
                continue
            if storage is None:
                remote = "://" in self.location
                storage = self._storage if remote else open_storage(self.location)
            for trial_id in live:
                try:
                    storage.set_trial_user_attr(trial_id, OWNER_BEAT_ATTR, time.time())
                except Exception as error:  # finished meanwhile, or the storage is failing:
                    log.debug(f"heartbeat of trial {trial_id} not written: {error!r}")
