"""The job's side of a local trial: reports go to the trial in the engine's Optuna storage,
where its pruner (hyperband) decides whether the trial stops."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from hydra_wandb_sweeper.engine.base import OVERRIDES_ATTR, RESULT_ATTR, STOPPED_ATTR

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

    def run(self, task: Callable[[Any], Any], config: Any) -> Any:
        """The task, run: here a trial stops only when its task asks :meth:`should_stop`."""
        return task(config)

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
