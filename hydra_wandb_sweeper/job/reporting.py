"""The running trial's line to its engine: report the metric each step, ask whether to stop.

The sweeper puts a handle to the trial in the job's environment, so this works the same
in-process (basic launcher) and in worker processes (joblib, submitit). Outside a sweep
:func:`report` does nothing and :func:`should_stop` is False, so a task can call them
unconditionally::

    for epoch in range(epochs):
        score = train_one_epoch()
        report(score, step=epoch + 1)
        if should_stop():
            break
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from hydra_wandb_sweeper.engine.base import OVERRIDES_ATTR, RESULT_ATTR, STOPPED_ATTR, TRIAL_ENV
from hydra_wandb_sweeper.job.cloud_trial import CloudTrialReporter

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _storage_faults(method: _Method) -> _Method:
    """A storage that fails under the job (a full disk, a server that refuses one more
    connection) raises :class:`SweepStorageError`: the sweeper ends the sweep with the
    storage's exit code and runs the trial again on resume, instead of failing the task."""

    @functools.wraps(method)
    def wrapped(self: LocalTrialReporter, *args: Any, **kwargs: Any) -> Any:
        from hydra_wandb_sweeper.engine.local.storage import storage_faults

        with storage_faults(self.storage_spec):
            return method(self, *args, **kwargs)

    return wrapped  # type: ignore[return-value]


class LocalTrialReporter:
    """Reports to the trial in the local engine's Optuna storage, judged by its pruner."""

    def __init__(
        self,
        storage_spec: str,
        sweep_id: str,
        trial_number: int,
        metric: str | None,
        owner: dict[str, Any] | None = None,
    ):
        self.storage_spec = storage_spec
        self.sweep_id = sweep_id
        self.trial_number = trial_number
        self.metric = metric
        self.owner = owner  # the sweeper process that claimed the trial
        self.last_step: int | None = None
        self.stopped = False  # decided by the pruner; it stays stopped
        self.stopped_at: int | None = None  # the step recorded as where it stopped

    @functools.cached_property
    def _storage(self) -> Any:
        return _storage(self.storage_spec)

    @functools.cached_property
    def _trial_id(self) -> int:
        study_id = self._storage.get_study_id_from_name(self.sweep_id)
        return self._storage.get_trial_id_from_study_id_trial_number(study_id, self.trial_number)

    @functools.cached_property
    def _early_terminate(self) -> Any:
        from hydra_wandb_sweeper.engine.local.storage import read_definition

        return read_definition(self._storage, self.sweep_id, self.storage_spec).early_terminate

    @functools.cached_property
    def _trial(self) -> Any:
        # Loaded only when the task reports: a task that never does costs no study.
        import optuna

        from hydra_wandb_sweeper.engine.local.hyperband import build_pruner

        study = optuna.load_study(
            study_name=self.sweep_id,
            storage=self._storage,
            sampler=optuna.samplers.RandomSampler(),  # never samples here
            pruner=build_pruner(self._early_terminate),
        )
        return optuna.Trial(study, self._trial_id)

    @_storage_faults
    def report(self, value: float, step: int) -> None:
        if self.last_step is not None and step <= self.last_step:
            step = self.last_step + 1  # steps only go forward; a repeated step is the next one
        with _taken_elsewhere_ignored():
            self._trial.report(float(value), step)
        self.last_step = step

    @property
    def can_stop(self) -> bool:
        """Whether the sweep has early termination at all."""
        return bool(self._early_terminate)

    @_storage_faults
    def pruned(self) -> bool:
        """Whether early termination stops this trial (asked after each report; once it says
        stop, it stays stopped). Nothing is recorded: see :meth:`record_stop`."""
        if not self.stopped and self._early_terminate and self.last_step is not None:
            self.stopped = bool(self._trial.should_prune())
        return self.stopped

    @_storage_faults
    def record_stop(self) -> None:
        """Record that the task ends here, at the last step reported."""
        if self.stopped_at != self.last_step:
            self.stopped_at = self.last_step
            self._storage.set_trial_user_attr(self._trial_id, STOPPED_ATTR, self.last_step)

    def should_stop(self) -> bool:
        if not self.pruned():
            return False
        self.record_stop()
        return True

    @_storage_faults
    def mark_started(self, process: dict[str, Any]) -> None:
        """Name the process that runs the task: the trial stays alive while it does."""
        from hydra_wandb_sweeper.engine.local.liveness import JOB_ATTR

        self._storage.set_trial_user_attr(self._trial_id, JOB_ATTR, process)
        self.beat()

    @_storage_faults
    def beat(self) -> None:
        import time

        from hydra_wandb_sweeper.engine.local.liveness import JOB_BEAT_ATTR

        self._storage.set_trial_user_attr(self._trial_id, JOB_BEAT_ATTR, time.time())

    @_storage_faults
    def record_result(self, returned: Any, overrides: list[str]) -> None:
        from hydra_wandb_sweeper.engine.outcome import storable_result

        with _taken_elsewhere_ignored():  # the sweeper keeps the result as a new trial
            self._storage.set_trial_user_attr(self._trial_id, OVERRIDES_ATTR, overrides)
            self._storage.set_trial_user_attr(
                self._trial_id, RESULT_ATTR, storable_result(returned)
            )


def _taken_elsewhere_ignored() -> contextlib.suppress:
    """A trial another machine took for an orphan (its heartbeat was late: a network cut, a
    suspended machine) is finished there; the task goes on, and the sweeper that runs it
    keeps its result as a new trial."""
    from optuna.exceptions import UpdateFinishedTrialError

    return contextlib.suppress(UpdateFinishedTrialError)


@functools.lru_cache(maxsize=8)
def _storage(storage_spec: str) -> Any:
    # One storage object per process: a journal storage replays its file only once.
    from hydra_wandb_sweeper.engine.local.storage import open_storage
    from hydra_wandb_sweeper.errors import SweepConfigError, SweepStorageError

    try:
        return open_storage(storage_spec)
    except SweepConfigError as error:
        # the sweeper opened it: a job that cannot (a server that refuses one more client)
        # meets a storage fault, not a bad setting
        raise SweepStorageError(
            f"The sweep's storage {storage_spec} could not be opened by a trial's job "
            f"({error.message}). Finished trials are kept: resume with the join command "
            "printed at the start"
        ) from None


@functools.lru_cache(maxsize=32)
def _reporter_for(handle_json: str) -> LocalTrialReporter | CloudTrialReporter:
    handle = json.loads(handle_json)
    if handle.get("kind") == "cloud":
        return CloudTrialReporter(handle)
    return LocalTrialReporter(
        handle["storage"],
        handle["sweep_id"],
        int(handle["trial_number"]),
        handle.get("metric"),
        handle.get("owner"),
    )


def current_trial() -> LocalTrialReporter | CloudTrialReporter | None:
    """The reporter of the trial this job runs, or None outside a sweep."""
    handle_json = os.environ.get(TRIAL_ENV)
    if not handle_json:
        return None
    return _reporter_for(handle_json)


def report(value: float, step: int) -> None:
    """Report the sweep metric of the running trial at ``step`` (1, 2, ... e.g. epochs)."""
    trial = current_trial()
    if trial is not None:
        trial.report(value, step)


def should_stop() -> bool:
    """True when the sweep's early termination stops this trial; end it gracefully then."""
    trial = current_trial()
    if trial is None or not trial.should_stop():
        return False
    note_in_wandb_summary(trial)
    return True


def note_in_wandb_summary(trial: LocalTrialReporter | CloudTrialReporter) -> None:
    wandb = sys.modules.get("wandb")  # only if the task uses W&B: never import it here
    run = getattr(wandb, "run", None) if wandb is not None else None
    if run is not None:
        run.summary["sweep/stopped_early"] = True
        run.summary["sweep/stopped_at_step"] = trial.last_step
